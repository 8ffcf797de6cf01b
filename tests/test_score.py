"""Tone scoring: VADER's compound kept exactly, per-target tone by clause, lexicon and scorer version."""

import json
import math
from datetime import date

import pytest
from fixtures_transforms import matcher_fixture, registry_fixture, scorer_fixture  # noqa: F401
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.errors import LexiconError
from tonewatch.transforms.registry import parse_registry
from tonewatch.transforms.score import ToneScorer, parse_lexicon, scorer_version
from tonewatch.transforms.split import split_sentences

VADER = SentimentIntensityAnalyzer()
PLAIN = ToneScorer()


def scorer_with(words: dict[str, float]) -> ToneScorer:
    """A scorer whose lexicon additions are ``words``, built the way users give them (TOML)."""
    toml = "[words]\n" + "".join(f"{word} = {valence}\n" for word, valence in words.items())
    return ToneScorer(parse_lexicon(toml, name="test.toml"))


def _corpus_sentences(count: int) -> list[str]:
    sentences = [
        s.text
        for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()
        for s in split_sentences(json.loads(line)["text"])
        if not any(char in VADER.emojis for char in s.text)
    ]
    step = max(len(sentences) // count, 1)
    return sentences[::step][:count]


CORPUS_SENTENCES = _corpus_sentences(50)
HAND_WRITTEN = [
    "The talks were not bad at all!",
    "The talks were kind of useful.",
    "The deal was good, but the terms were terrible.",
    "Lavrov said the offer was VERY GOOD.",
    "It is not a very good deal for Kyiv",
    "Peskov called the meeting extremely productive and friendly!!!",
    "No.",
    "",
]


@pytest.mark.parametrize(
    "sentence",
    CORPUS_SENTENCES + HAND_WRITTEN,
    ids=[f"corpus-{i:02d}" for i in range(len(CORPUS_SENTENCES))]
    + [f"hand-{i}" for i in range(len(HAND_WRITTEN))],
)
def test_compound_equals_vader_without_additions(sentence):
    assert PLAIN.valences(sentence).compound == VADER.polarity_scores(sentence)["compound"]


def test_corpus_rows_are_enough_and_not_all_neutral():
    assert len(CORPUS_SENTENCES) >= 45
    assert sum(VADER.polarity_scores(s)["compound"] != 0 for s in CORPUS_SENTENCES) >= 15


def test_one_valence_per_token_and_a_span_per_tone_word():
    sentence = "Moscow praised Washington but condemned Kyiv."
    valences = PLAIN.valences(sentence)
    tokens = sentence.split()
    assert len(valences.valences) == len(tokens)
    assert [sentence[b:e] for b, e in valences.loaded_spans] == [tokens[i] for i in valences.loaded]
    assert [tokens[i] for i in valences.loaded] == ["praised", "condemned"]


def _row(sentence, positive, negative, id, xfail=None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(sentence, positive, negative, id=id, marks=marks)


@pytest.mark.parametrize(
    ("sentence", "positive", "negative"),
    [
        _row(
            "Moscow praised Washington but condemned Kyiv.", "us_government", "ukraine_government", id="but"
        ),
        _row(
            "Trump praised Putin but criticised Zelensky.", "putin", "zelensky", id="praised-but-criticised"
        ),
        _row(
            "Zelensky thanked Macron but condemned Putin.",
            "macron",
            "putin",
            id="thanked-but-condemned",
        ),
        _row(
            "Peskov praised Trump but accused Zelensky of lying.",
            "trump",
            "zelensky",
            id="praised-but-accused",
        ),
        _row(
            "Lavrov welcomed the U.S. offer; he condemned Kyiv.",
            "united_states",
            "ukraine_government",
            id="semicolon",
        ),
        _row(
            "Macron hailed Ukraine's courage and denounced Russia's aggression.",
            "ukraine",
            "russia",
            id="and-hailed-denounced",
        ),
        _row(
            "The Kremlin welcomed Washington's offer and denounced Kyiv's provocations.",
            "us_government",
            "ukraine_government",
            id="and-welcomed-denounced",
        ),
    ],
)
def test_two_targets_get_opposite_tones(scorer, matcher, sentence, positive, negative):
    valences = scorer.valences(sentence)
    tones = {
        m.actor_id: scorer.target_tone(sentence, valences, m)
        for m in matcher.find_mentions(sentence, as_of=date(2025, 3, 1))
    }
    assert tones[positive] > 0 > tones[negative]


@pytest.mark.parametrize(
    ("sentence", "additions", "sign_before", "sign_after"),
    [
        ("Zelensky makes inappropriate remarks.", {"inappropriate": -1.5}, 0, -1),
        ("The referendum in the occupied region was a sham.", {"sham": -2.0}, 0, -1),
        ("Two extraordinary presidents met in Riyadh.", {"extraordinary": 1.5}, 0, 1),
        ("The talks were constructive.", {"constructive": 1.6}, 0, 1),
        ("The deal is good.", {"good": -2.0}, 1, -1),
    ],
    ids=["inappropriate", "sham", "extraordinary", "constructive", "override-vader-word"],
)
def test_lexicon_additions_change_scores(sentence, additions, sign_before, sign_after):
    before = PLAIN.valences(sentence).compound
    after = scorer_with(additions).valences(sentence).compound
    assert (_sign(before), _sign(after)) == (sign_before, sign_after)


def _sign(value: float) -> int:
    return 0 if value == 0 else int(math.copysign(1, value))


def test_shipped_lexicon_makes_inappropriate_negative_toward_its_target(scorer, matcher):
    sentence = "Zelensky makes inappropriate remarks."
    (mention,) = matcher.find_mentions(sentence, as_of=date(2025, 2, 23))
    assert PLAIN.target_tone(sentence, PLAIN.valences(sentence), mention) == 0.0
    assert scorer.target_tone(sentence, scorer.valences(sentence), mention) < 0


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        pytest.param(
            "[words]\nsham = -5\n",
            r'custom\.toml, word "sham": valence must be a number in \[-4, 4\], got -5',
            id="out-of-range-low",
        ),
        pytest.param(
            "[words]\nhailed = 4.5\n",
            r'custom\.toml, word "hailed": valence must be a number in \[-4, 4\], got 4\.5',
            id="out-of-range-high",
        ),
        pytest.param(
            '[words]\nsham = "very bad"\n',
            r"custom\.toml, word \"sham\": valence must be a number .*got 'very bad'",
            id="not-a-number",
        ),
        pytest.param(
            "[words]\nsham = true\n",
            r'custom\.toml, word "sham": valence must be a number .*got True',
            id="bool",
        ),
        pytest.param("[words\nsham = -2\n", r"custom\.toml: not valid TOML: .*line 1", id="bad-toml"),
        pytest.param("words = 3\n", r"custom\.toml: \[words\] must be a table", id="words-not-a-table"),
    ],
)
def test_parse_lexicon_errors_name_file_and_word(toml, match):
    with pytest.raises(LexiconError, match=match):
        parse_lexicon(toml, name="custom.toml")


def test_parse_lexicon_accepts_bounds_and_lower_cases_words():
    scorer = ToneScorer(parse_lexicon("[words]\nSham = -4\nHailed = 4\nmeh = 0.5\n", name="custom.toml"))
    assert [scorer.analyzer.lexicon[word] for word in ("sham", "hailed", "meh")] == [-4.0, 4.0, 0.5]
    assert "Sham" not in scorer.analyzer.lexicon


_FINGERPRINT = parse_registry(
    [("a.toml", '[[bloc]]\nid = "kyiv"\n[[actor]]\nid = "zelensky"\nbloc = "kyiv"\n')]
).fingerprint
_OTHER_FINGERPRINT = parse_registry(
    [
        (
            "a.toml",
            '[[bloc]]\nid = "kyiv"\n[[actor]]\nid = "zelensky"\nbloc = "kyiv"\naliases = ["Zelenskyy"]\n',
        )
    ]
).fingerprint


@pytest.mark.parametrize(
    ("additions", "fingerprint", "is_same"),
    [
        ({"sham": -2.0}, _FINGERPRINT, True),
        ({"sham": -2.5}, _FINGERPRINT, False),
        ({"sham": -2.0, "bogus": -1.8}, _FINGERPRINT, False),
        ({}, _FINGERPRINT, False),
        ({"sham": -2.0}, _OTHER_FINGERPRINT, False),
    ],
    ids=["same-inputs", "valence-changed", "word-added", "no-additions", "registry-changed"],
)
def test_scorer_version_follows_lexicon_and_registry(additions, fingerprint, is_same):
    baseline = scorer_version(scorer_with({"sham": -2.0}), _FINGERPRINT)
    assert (scorer_version(scorer_with(additions), fingerprint) == baseline) is is_same
