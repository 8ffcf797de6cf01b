"""Our VADER pass gives VADER's own per-token valences and compound, value for value.

``tonewatch.transforms.vader`` re-implements ``SentimentIntensityAnalyzer``'s loop for
speed (issue 7); the reference here is that loop, run through VADER's own methods.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentimentIntensityAnalyzer, SentiText

from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.score import ToneScorer, parse_lexicon
from tonewatch.transforms.split import split_sentences
from tonewatch.transforms.vader import Valences

VADER = SentimentIntensityAnalyzer()


def reference(analyzer: SentimentIntensityAnalyzer, text: str) -> tuple[list[float], list[int], float]:
    """VADER's own valences after its "but" rule, the tokens that carry one, and its compound
    (VADER's text pass that spells out emoji is left out, as tonewatch leaves it out)."""
    sentitext = SentiText(text)
    words = sentitext.words_and_emoticons
    sentiments: list[float] = []
    for i, item in enumerate(words):
        lowered = item.lower()
        kind_of = lowered == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"
        if lowered in BOOSTER_DICT or kind_of:
            sentiments.append(0)
            continue
        sentiments = analyzer.sentiment_valence(0, sentitext, item, i, sentiments)
    sentiments = analyzer._but_check(words, sentiments)
    loaded = [i for i, valence in enumerate(sentiments) if valence]
    return sentiments, loaded, analyzer.score_valence(sentiments, text)["compound"]


def _sample_sentences() -> list[str]:
    return [
        s.text
        for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()
        for s in split_sentences(json.loads(line)["text"])
    ]


TRICKY = [
    "The talks were not bad at all!",
    "The talks were kind of useful, but the terms were kind of terrible.",
    "It was never so good and never this bad.",
    "Without a doubt, an excellent idea.",
    "Without doubt a good deal.",
    "No deal is good, no good deal, no or nor good.",
    "He is at least helpful, the very least helpful, least helpful of all.",
    "The plan is the bomb, the shit, bad ass, a kiss of death, to die for.",
    "The summit was sort of the bomb, just enough good to die for, yeah right, kind of bad ass.",
    "Not so good: the offer sort of kind of great, just enough bad, the bus stop terrible.",
    "Lavrov said the offer was VERY GOOD but the terms were BAD.",
    "GOOD GOOD GOOD",
    "good but good but bad good",
    "Sort of good; sort of bad; kind-of great; kinda awful.",
    "Peskov called the meeting extremely productive and friendly!!!",
    "Is it good?? Is it really bad???? ",
    "isn't good, wasn't bad, don't like it, aint great",
    ":) :( <3 :D lol",
    "",
    "   ",
    "no",
    "no no no",
]


@pytest.mark.parametrize("sentence", TRICKY)
def test_valences_and_compound_equal_vaders(sentence):
    assert Valences(VADER).of(sentence) == reference(VADER, sentence)


def test_sample_corpus_sentences_equal_vaders():
    valences = Valences(VADER)
    mismatched = [s for s in _sample_sentences() if valences.of(s) != reference(VADER, s)]
    assert not mismatched, mismatched[:5]


def test_compound_equals_polarity_scores_on_the_sample_corpus():
    sentences = [s for s in _sample_sentences() if not any(c in VADER.emojis for c in s)]
    assert len(sentences) > 300
    valences = Valences(VADER)
    assert [valences.of(s)[2] for s in sentences] == [VADER.polarity_scores(s)["compound"] for s in sentences]


def test_lexicon_additions_are_seen():
    scorer = ToneScorer(parse_lexicon("[words]\nescalation = -2.5\nhugs = 3\n", name="test.toml"))
    for sentence in ("The escalation was not welcome.", "Hugs, but escalation!", "Very ESCALATION hugs"):
        assert scorer._vader.of(sentence) == reference(scorer.analyzer, sentence)
        assert scorer._vader.of(sentence)[2] != Valences(VADER).of(sentence)[2]


# Words that VADER's rules react to, in every case VADER distinguishes.
_RULE_WORDS = (
    "no not never so this without doubt least at very kind of sort but or nor isn't n't the bomb shit"
    " bad ass kiss death to die for yeah right extremely barely hardly good bad great terrible"
    " peace war threat support praise condemn killed hope friendly hostile ! ? ?? !!! , . :)"
).split()
_WORDS = st.sampled_from(_RULE_WORDS + ["Moscow", "Kyiv", "said", "talks", "a", "deal"])
_CASED = st.tuples(_WORDS, st.sampled_from(["lower", "upper", "title"])).map(
    lambda pair: getattr(pair[0], pair[1])()
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_CASED, max_size=14), st.sampled_from(["", ".", "!", "!!", "?!?"]))
def test_generated_sentences_equal_vaders(words, end):
    sentence = " ".join(words) + end
    assert Valences(VADER).of(sentence) == reference(VADER, sentence)


def test_real_news_sentences_equal_vaders(shared_data):
    lines = (shared_data / "newsmtsc" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    sentences = [json.loads(line)["sentence_normalized"] for line in lines]
    assert len(sentences) > 5000
    valences = Valences(VADER)
    mismatched = [s for s in sentences if valences.of(s) != reference(VADER, s)]
    assert not mismatched, mismatched[:5]
