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
