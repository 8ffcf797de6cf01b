"""Fast paths give what the general code gives (issue 7): dates, blank checks, cleaning."""

from __future__ import annotations

import unicodedata
from datetime import UTC

import pytest
from dateutil import parser as date_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from tonewatch.flows.sources.tabular import _parse_date
from tonewatch.transforms import normalize
from tonewatch.transforms.normalize import clean_text, is_blank


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
