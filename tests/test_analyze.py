"""From sentences to edges: who speaks about whom, with which tone, in our own test sentences."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fixtures_transforms import matcher_fixture, registry_fixture, scorer_fixture  # noqa: F401

from tonewatch.transforms.analyze import ScoringContext, analyze_articles
from tonewatch.transforms.normalize import normalize_article
from tonewatch.transforms.records import RawArticle
from tonewatch.transforms.score import scorer_version


@pytest.fixture(scope="module")
def context(registry, matcher, scorer):
    return ScoringContext(registry, matcher, scorer, scorer_version(scorer, registry.fingerprint))


def edges_of(text: str, context: ScoringContext, *, language: str = "en") -> list[tuple[str, str, float]]:
    raw = RawArticle(
        "test", None, "Test Outlet", datetime(2025, 3, 1, tzinfo=UTC), "t", text, language=language
    )
    rows = analyze_articles([normalize_article(raw, fetched_at=datetime(2025, 3, 2, tzinfo=UTC))], context)
    edges = rows.edges
    return list(zip(edges["source_actor"], edges["target_actor"], edges["score"], strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '"Zelensky makes inappropriate remarks," Peskov said.',
            {("peskov", "zelensky", "-")},
            id="quote-target-negative",
        ),
        pytest.param(
            "Moscow praised Washington but condemned Kyiv.",
            {("kremlin", "us_government", "+"), ("kremlin", "ukraine_government", "-")},
            id="two-targets-opposite-tones",
        ),
        pytest.param(
            "Trump has verbally attacked Ukraine's leader.",
            {("trump", "zelensky", "-")},
            id="speech-act-with-role-alias",
        ),
        pytest.param(
            "Zelensky thanked Macron but condemned Putin.",
            {("zelensky", "macron", "+"), ("zelensky", "putin", "-")},
            id="thanked-but-condemned",
        ),
        pytest.param(
            "Trump said critics were unfair to Trump and to Vance.",
            {("trump", "vance", "-")},
            id="speaker-who-is-also-a-target-gives-no-self-edge",
        ),
        pytest.param(
            "Moscow has revelled in the spat between Trump and Zelensky.",
            set(),
            id="outlet-voice-gives-no-edge",
        ),
        pytest.param(
            '"We are ready," said Kremlin spokesman Dmitry Peskov.',
            set(),
            id="the-speaker-title-is-not-a-target",
        ),
    ],
)
def test_edges(text, expected, context):
    signs = {
        (s, t, "+" if score > 0 else "-" if score < 0 else "0") for s, t, score in edges_of(text, context)
    }
    assert signs == expected


def test_non_english_articles_are_not_scored(context):
    assert edges_of("Peskov criticised Zelensky harshly.", context, language="ru") == []


STORY = (
    "Peskov criticised Zelensky harshly and said Washington had been reckless.\n\n"
    "The U.S. president praised Kyiv but condemned Moscow's latest strike."
)


def wire_copy(text: str, when: datetime, outlet: str) -> RawArticle:
    return RawArticle("test", f"https://{outlet}.test/story", outlet, when, "A title", text, language="en")


def rows_of(batch, article_id: str) -> dict[str, list[tuple]]:
    """Each table's rows of ``article_id`` in ``batch``, as tuples in their order."""
    found = {}
    for name in ("sentences", "mentions", "edges"):
        columns = getattr(batch, name)
        found[name] = [row for row in zip(*columns.values(), strict=True) if row[0] == article_id]
    return found


def rows_alone(article, alone_context: ScoringContext) -> dict[str, list[tuple]]:
    """The rows of ``article`` analysed by ``alone_context`` by itself."""
    return rows_of(analyze_articles([article], alone_context), article.article_id)


def fresh(context: ScoringContext) -> ScoringContext:
    """The same scoring context with an empty copy memo."""
    return ScoringContext(context.registry, context.matcher, context.scorer, context.scorer_version)


def test_a_wire_copy_gets_its_own_id_and_date_on_the_rows_it_reuses(context):
    fetched = datetime(2025, 3, 2, tzinfo=UTC)
    original = normalize_article(
        wire_copy(STORY, datetime(2025, 3, 1, 8, tzinfo=UTC), "wire"), fetched_at=fetched
    )
    same_day = normalize_article(
        wire_copy(STORY, datetime(2025, 3, 1, 17, tzinfo=UTC), "paper"), fetched_at=fetched
    )
    expected = rows_alone(same_day, fresh(context))
    assert expected["edges"] and all(row[2] == same_day.published_at for row in expected["edges"])
    shared = fresh(context)
    in_one_batch = analyze_articles([original, same_day], shared)
    assert rows_of(in_one_batch, same_day.article_id) == expected
    assert rows_of(in_one_batch, original.article_id) == rows_alone(original, fresh(context))
    assert rows_alone(same_day, shared) == expected  # from the memo, in a later batch


def test_a_copy_on_another_day_is_matched_as_of_its_own_day(context):
    """Roles change hands: "the U.S. president" is Biden in 2024 and Trump in 2025."""
    fetched = datetime(2025, 6, 2, tzinfo=UTC)
    in_2024 = normalize_article(
        wire_copy(STORY, datetime(2024, 6, 1, tzinfo=UTC), "wire"), fetched_at=fetched
    )
    in_2025 = normalize_article(
        wire_copy(STORY, datetime(2025, 6, 1, tzinfo=UTC), "paper"), fetched_at=fetched
    )
    rows = analyze_articles([in_2024, in_2025], fresh(context))
    actors = {
        article_id: {row[3] for row in rows_of(rows, article_id)["mentions"]}
        for article_id in (in_2024.article_id, in_2025.article_id)
    }
    assert "biden" in actors[in_2024.article_id] and "trump" not in actors[in_2024.article_id]
    assert "trump" in actors[in_2025.article_id] and "biden" not in actors[in_2025.article_id]


def test_the_copy_memo_is_cleared_when_full_and_still_gives_the_same_rows(context):
    fetched = datetime(2025, 3, 2, tzinfo=UTC)
    stories = [
        f"Peskov criticised Zelensky in statement number {n}. Washington praised Kyiv." for n in range(6)
    ]
    articles = [
        normalize_article(wire_copy(text, datetime(2025, 3, 1, tzinfo=UTC), f"outlet{n}"), fetched_at=fetched)
        for n, text in enumerate(stories)
    ]
    small = fresh(context)
    small.copies.max_bytes = 1000  # room for two of these articles
    for article in articles + articles[::-1]:
        assert rows_alone(article, small) == rows_alone(article, fresh(context))
        assert 0 < small.copies.bytes_held <= 1000
        assert sum(map(len, small.copies._blobs.values())) == small.copies.bytes_held
