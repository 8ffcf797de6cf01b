"""Actor matching: possessives, case, longest alias, compounds, spellings, boundaries, roles by date."""

import json
import re
from datetime import date

import pytest
from fixtures_transforms import matcher_fixture, registry_fixture  # noqa: F401

from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.actors import ActorMatcher
from tonewatch.transforms.records import Mention
from tonewatch.transforms.registry import Registry, parse_registry
from tonewatch.transforms.split import split_sentences

DAY = date(2025, 3, 1)


def found(matcher: ActorMatcher, sentence: str, day: date = DAY) -> list[tuple[str, str]]:
    """(actor, surface) per mention, after checking each surface sits at its offsets."""
    mentions = matcher.find_mentions(sentence, as_of=day)
    for mention in mentions:
        assert sentence[mention.start : mention.end] == mention.surface
    return [(mention.actor_id, mention.surface) for mention in mentions]


def _row(sentence, expected, id, xfail=None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(sentence, expected, id=id, marks=marks)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # possessives: the name without its 's
        _row("Trump's envoy arrived in Riyadh on Tuesday.", [("trump", "Trump")], id="possessive"),
        _row("TRUMP'S ENVOY ARRIVES IN RIYADH", [("trump", "TRUMP")], id="possessive-all-caps"),
        _row("Zelenskyy's office denied the report.", [("zelensky", "Zelenskyy")], id="possessive-spelling"),
        _row(
            "The plan drew on the Kremlin's own proposals.",
            [("kremlin", "the Kremlin")],
            id="possessive-institution",
        ),
        _row(
            "Ukraine's foreign ministry summoned the envoy.",
            [("ukraine_foreign_ministry", "Ukraine's foreign ministry")],
            id="possessive-inside-longer-alias",
        ),
        # case: as written, first letter either case, or all caps
        _row("The Kremlin rejected the plan.", [("kremlin", "The Kremlin")], id="sentence-start-the"),
        _row(
            "Officials in the Kremlin rejected the plan.",
            [("kremlin", "the Kremlin")],
            id="mid-sentence-the",
        ),
        _row("THE KREMLIN REJECTS THE PLAN", [("kremlin", "THE KREMLIN")], id="all-caps-headline"),
        _row("The KreMLin rejected the plan.", [], id="mixed-case-is-not-an-alias"),
        _row("Peskov and PESKOV are one man.", [("peskov", "Peskov"), ("peskov", "PESKOV")], id="caps-name"),
        # the longest alias wins
        _row("Vladimir Putin met the envoys.", [("putin", "Vladimir Putin")], id="longest-full-name"),
        _row(
            "President Vladimir Putin met the envoys.",
            [("putin", "President Vladimir Putin")],
            id="longest-with-title",
        ),
        _row("Donald J. Trump signed the order.", [("trump", "Donald J. Trump")], id="longest-with-initial"),
        _row(
            "The U.S. State Department issued a statement.",
            [("state_department", "The U.S. State Department")],
            id="longest-beats-country",
        ),
        _row(
            "Critics said the Trump administration moved too fast.",
            [("us_government", "the Trump administration")],
            id="longest-beats-person",
        ),
        _row(
            "Russia's foreign ministry called the move hostile.",
            [("russia_foreign_ministry", "Russia's foreign ministry")],
            id="longest-beats-russia",
        ),
        # hyphen compounds give both sides
        _row(
            "The Putin-Trump dialogue resumed on Sunday.",
            [("putin", "Putin"), ("trump", "Trump")],
            id="hyphen-two-people",
        ),
        _row(
            "The Russia-Ukraine war entered its fourth year.",
            [("russia", "Russia"), ("ukraine", "Ukraine")],
            id="hyphen-two-countries",
        ),
        _row(
            "Kremlin-backed media praised the call.",
            [("kremlin", "Kremlin")],
            id="hyphen-backed",
        ),
        _row(
            "Anti-Putin protesters gathered in Tbilisi.",
            [("putin", "Putin")],
            id="hyphen-anti",
        ),
        # transliterations
        _row(
            "Zelensky, Zelenskyy, Zelenskiy and Zelenskyi are spellings of one name.",
            [
                ("zelensky", "Zelensky"),
                ("zelensky", "Zelenskyy"),
                ("zelensky", "Zelenskiy"),
                ("zelensky", "Zelenskyi"),
            ],
            id="zelensky-spellings",
        ),
        _row(
            "Volodymyr Zelenskyy spoke in Kyiv.",
            [("zelensky", "Volodymyr Zelenskyy"), ("ukraine_government", "Kyiv")],
            id="zelensky-full-name",
        ),
        _row(
            "Dmitri Peskov and Sergey Lavrov flew to Riyadh.",
            [("peskov", "Dmitri Peskov"), ("lavrov", "Sergey Lavrov")],
            id="russian-spellings",
        ),
        # word boundaries
        _row("Putinism is a term coined by critics.", [], id="no-match-inside-putinism"),
        _row("A trumpet sounded at the parade.", [], id="no-match-trumpet"),
        _row("The Trumpet Ensemble played.", [], id="no-match-capital-trumpet"),
        _row("Russian troops and Ukrainian drones clashed.", [], id="no-match-adjectives"),
        _row("The campaign slogan was Trump2028.", [], id="no-match-digits-after"),
        _row(
            "The U.S.-led coalition met in Ramstein.",
            [("united_states", "The U.S.")],
            id="us-led",
        ),
        _row(
            "Aid from the U.S. arrived on Monday.",
            [("united_states", "the U.S.")],
            id="us-mid-sentence",
        ),
        _row(
            "Security concerns will trump economic ones, the minister said.",
            [],
            id="verb-trump-is-not-trump",
        ),
        _row(
            "Energy remains the Kremlin's trump card.",
            [("kremlin", "the Kremlin")],
            id="trump-card-is-not-trump",
        ),
    ],
)
def test_find_mentions(matcher, sentence, expected):
    assert found(matcher, sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "day", "expected"),
    [
        ("the U.S. president", date(2024, 6, 1), "biden"),
        ("the U.S. president", date(2025, 3, 1), "trump"),
        ("the U.S. president", date(2025, 1, 19), "biden"),
        ("the U.S. president", date(2025, 1, 20), "trump"),
        ("The U.S. president", date(2024, 6, 1), "biden"),
        ("the American president", date(2020, 6, 1), "trump"),
        ("Ukraine's foreign minister", date(2024, 6, 1), "kuleba"),
        ("Ukraine's foreign minister", date(2024, 10, 1), "sybiha"),
        ("Ukraine's foreign minister", date(2024, 9, 4), "kuleba"),
        ("Ukraine's foreign minister", date(2024, 9, 5), "sybiha"),
        ("the German chancellor", date(2025, 1, 10), "scholz"),
        ("the German chancellor", date(2025, 6, 1), "merz"),
        ("the Kremlin spokesman", date(2010, 1, 1), "peskov"),
        ("the U.S. vice president", date(2020, 6, 1), None),
    ],
    ids=lambda value: value.isoformat() if isinstance(value, date) else None,
)
def test_role_resolves_by_date(matcher, sentence, day, expected):
    text = f"{sentence} spoke on the phone."
    holders = [(m.actor_id, m.surface) for m in matcher.find_mentions(text, as_of=day)]
    assert holders == ([(expected, sentence)] if expected else [])


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        _row(
            "The U.S. State Department said the talks were useful.",
            ["state_department"],
            id="dotted-us-state-department",
        ),
        _row(
            "The US State Department said the talks were useful.",
            ["state_department"],
            id="us-state-department",
        ),
        _row(
            "A spokesman for the US Department of Defense declined to comment.",
            ["pentagon"],
            id="us-department-of-defense",
        ),
    ],
)
def test_the_more_specific_overlapping_alias_wins(matcher, sentence, expected):
    assert [actor for actor, _ in found(matcher, sentence)] == expected


EXCLUDING_REGISTRY = """
exclude = ["Moscow Times", "Kyiv Independent"]

[[bloc]]
id = "moscow"

[[bloc]]
id = "kyiv"

[[actor]]
id = "kremlin"
kind = "institution"
bloc = "moscow"
aliases = ["the Kremlin", "Kremlin", "Moscow"]

[[actor]]
id = "ukraine_government"
kind = "institution"
bloc = "kyiv"
aliases = ["Kyiv"]
"""


@pytest.fixture(scope="module")
def excluding_matcher() -> ActorMatcher:
    return ActorMatcher(parse_registry([("test.toml", EXCLUDING_REGISTRY)]))


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The Moscow Times reported the talks had stalled.", []),
        ("THE MOSCOW TIMES REPORTED THE TALKS HAD STALLED", []),
        ("The Moscow Times said Moscow would not budge.", [("kremlin", "Moscow")]),
        ("According to the Kyiv Independent, Kyiv rejected the plan.", [("ukraine_government", "Kyiv")]),
        ("Moscow said the times had changed.", [("kremlin", "Moscow")]),
    ],
    ids=["outlet", "outlet-all-caps", "outlet-then-city", "second-phrase", "not-a-phrase"],
)
def test_exclusions_suppress_their_aliases(excluding_matcher, sentence, expected):
    assert found(excluding_matcher, sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The Moscow Times reported that the talks had stalled.", []),
        ("The Washington Post reported that Moscow had stalled.", [("kremlin", "Moscow")]),
        ("The Kyiv Independent reported that Washington had stalled.", [("us_government", "Washington")]),
        (
            "Moscow said the Washington talks had stalled.",
            [("kremlin", "Moscow"), ("us_government", "Washington")],
        ),
    ],
    ids=["moscow-times", "washington-post", "kyiv-independent", "bare-capitals-still-match"],
)
def test_shipped_registry_excludes_outlet_names(registry, matcher, sentence, expected):
    assert "Moscow Times" in registry.exclusions
    assert found(matcher, sentence) == expected


# ---------------------------------------------------------------- reference check


def _surface_fits(surface: str, alias: str) -> bool:
    """The case rule actors.py documents: as written, first letter capitalised, or all caps."""
    return (
        surface == alias
        or (surface[1:] == alias[1:] and surface[:1] == alias[:1].upper())
        or (surface.isupper() and surface == alias.upper())
    )


def reference_mentions(registry: Registry, text: str, day: date) -> list[Mention]:
    """Plain loops over every alias: word-bounded, longest first, non-overlapping."""
    entries: list[tuple[str, str | None]] = []
    for actor in registry.actors.values():
        entries += [(alias, actor.actor_id) for alias in actor.aliases]
    for role in registry.roles:
        entries += [(alias, role.holder_on(day)) for alias in role.aliases]
    entries += [(phrase, None) for phrase in registry.exclusions]
    candidates = []
    for alias, actor_id in entries:
        pattern = re.compile(r"(?<!\w)" + re.escape(alias) + r"(?!\w)", re.IGNORECASE)
        for match in pattern.finditer(text):
            if _surface_fits(match.group(), alias):
                candidates.append((match.start(), match.end(), actor_id))
    taken: list[tuple[int, int, str | None]] = []
    for start, end, actor_id in sorted(candidates, key=lambda c: (-(c[1] - c[0]), c[0])):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, actor_id))
    return [Mention(a, s, e, text[s:e]) for s, e, a in sorted(taken) if a is not None]


def _corpus_articles() -> list[dict]:
    return [json.loads(line) for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()]


CORPUS = _corpus_articles()


@pytest.mark.parametrize("article", CORPUS, ids=[a["url"].rsplit("/", 1)[-1][:40] for a in CORPUS])
def test_matcher_agrees_with_reference_on_sample_corpus(registry, matcher, article):
    day = date.fromisoformat(article["published_at"][:10])
    sentences = [s.text for s in split_sentences(article["text"])]
    # Each sentence as written, in capitals and title case (headline styles), all lower case,
    # and with its first letter lowered: the case rule decides which of these match.
    variants = [v for s in sentences for v in (s, s.upper(), s.title(), s.lower(), s[:1].lower() + s[1:])]
    for text in variants:
        assert matcher.find_mentions(text, as_of=day) == reference_mentions(registry, text, day), text


def test_reference_check_covers_enough_sentences():
    sentences = sum(len(split_sentences(a["text"])) for a in CORPUS)
    assert sentences >= 300
