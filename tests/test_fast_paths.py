"""Fast paths give what the general code gives (issue 7): dates, blank checks, cleaning."""

from __future__ import annotations

import bisect
import re
import unicodedata
from datetime import UTC

import pytest
from dateutil import parser as date_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from tonewatch.flows.sources.tabular import _parse_date
from tonewatch.transforms import normalize
from tonewatch.transforms.attribute import SPEECH_ACTS, SPEECH_VERBS, speech_verbs
from tonewatch.transforms.normalize import clean_text, is_blank
from tonewatch.transforms.score import _CLAUSE_BREAK, ToneScorer, _clause_breaks

PLAIN = ToneScorer()


def _instant(moment):
    return (
        None
        if moment is None
        else (moment.tzinfo is not None, moment.astimezone(UTC) if moment.tzinfo else moment)
    )


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-29T23:59:59Z",
        "2024-02-29T23:59:59.123456+05:30",
        "2024-02-29 07:05",
        "2024-02-29",
        "2022-02-30T10:00:00Z",  # no such day: both say no
        "1999-12-31T23:59:59-11:00",
        "2024-13-01",
        "Feb 24, 2022 04:00",
        "20220224T040000Z",
    ],
)
def test_iso_dates_read_as_dateutil_reads_them(value):
    try:
        expected = date_parser.parse(value, fuzzy=False)
    except (ValueError, OverflowError):
        expected = None
    assert _instant(_parse_date(value)) == _instant(expected)


@settings(max_examples=400, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([None, UTC])), st.sampled_from(["T", " "]))
def test_generated_iso_dates_read_as_dateutil_reads_them(moment, separator):
    for text in (moment.isoformat(sep=separator), moment.isoformat(sep=separator).replace("+00:00", "Z")):
        assert _instant(_parse_date(text)) == _instant(date_parser.parse(text, fuzzy=False))


def _reference_clean(text: str) -> str:
    """clean_text as it was written before its fast paths."""
    text = unicodedata.normalize("NFC", text).translate(normalize._CHAR_MAP)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [normalize._SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return normalize._BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_TEXT = st.text(
    alphabet=st.sampled_from(list("ab .\n\r\t\f\v\x00\x1c\u00a0\u200b\u201c\u2019\u2028\u3000e\u0301")),
    max_size=40,
)


@settings(max_examples=2000, deadline=None)
@given(_TEXT)
def test_clean_text_and_is_blank_match_the_general_code(text):
    assert clean_text(text) == _reference_clean(text)
    assert is_blank(text) == (not _reference_clean(text))


_VERB_REFERENCE = re.compile(
    r"(?<![\w'-])(" + "|".join(sorted(set(SPEECH_VERBS + SPEECH_ACTS), key=len, reverse=True)) + r")(?!\w)"
)
_VERB_TEXT = st.lists(
    st.sampled_from(
        ["said", "says", "praised", "thanks", "told", "x", "-", "'", " ", "_", "é", "sa", "id", "d"]
    ),
    max_size=16,
).map("".join)


def _reference_verbs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
    end = len(text) if end is None else end
    return [(m.start(), m.end(), m.group(1)) for m in _VERB_REFERENCE.finditer(text, start, end)]


@settings(max_examples=2000, deadline=None)
@given(_VERB_TEXT, st.integers(0, 30), st.integers(0, 40))
def test_speech_verbs_are_what_the_regex_finds(text, start, length):
    assert speech_verbs(text) == _reference_verbs(text)
    assert speech_verbs(text, start, start + length) == _reference_verbs(
        text, start, min(start + length, len(text))
    )


def test_speech_verbs_in_news_sentences():
    text = 'Peskov said, "We thanked them," and Rubio-said praised_x praised'
    assert speech_verbs(text) == _reference_verbs(text) != []
    assert speech_verbs(text, 7, 12) == [(7, 11, "said")]


_SENTENCE = st.lists(
    st.sampled_from(
        ["good", "bad", "Putin", '"great', "war,", " ", "  ", "\n", "\t", "\u00a0", "\u2003", "x"]
    ),
    max_size=20,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(_SENTENCE, st.data())
def test_token_positions_match_the_token_spans(sentence, data):
    valences = PLAIN.valences(sentence)
    spans = [m.span() for m in re.finditer(r"\S+", sentence)]
    assert valences.loaded_spans == tuple(spans[i] for i in valences.loaded)
    if valences.loaded:
        position = data.draw(st.integers(0, len(sentence)))
        ends = [end for _, end in spans]
        expected = min(bisect.bisect_right(ends, position), max(len(spans) - 1, 0))
        assert valences.token_index_at(position) == expected


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["but", " ", ",", ";", "-", "—", "and", "or", "praised", "x", "though", "\n"]),
        max_size=14,
    ).map("".join)
)
def test_clause_breaks_prefilter_finds_every_break(sentence):
    assert _clause_breaks(sentence) == tuple(m.span() for m in _CLAUSE_BREAK.finditer(sentence))
