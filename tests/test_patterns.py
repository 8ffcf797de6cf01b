"""A word list written as a trie matches exactly what the plain alternation matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tonewatch.transforms.attribute import SPEECH_ACTS, SPEECH_VERBS
from tonewatch.transforms.patterns import word_alternation


def _both(words: list[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    plain = "|".join(map(re.escape, sorted(set(words), key=len, reverse=True)))
    return tuple(  # type: ignore[return-value]
        re.compile(r"(?<![\w'-])(" + body + r")(?!\w)") for body in (plain, word_alternation(set(words)))
    )


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str]]:
    return [(m.span(), m.group(1)) for m in pattern.finditer(text)]


@pytest.mark.parametrize(
    ("words", "text"),
    [
        (["said", "says", "sa"], "he said, she says sa saidx -said 'says said"),
        (["a", "ab", "abc"], "abc ab a abcd ab-c"),
        (SPEECH_VERBS + SPEECH_ACTS, "Peskov said that Trump praised and thanked; he added, noted, warns"),
        (["U.S", "U.K"], "the U.S and U.K. and U.Sx"),
    ],
)
def test_trie_matches_the_alternation(words, text):
    plain, trie = _both(words)
    assert _matches(trie, text) == _matches(plain, text)
    assert _matches(trie, text)  # the rows are not vacuous


_LETTERS = st.text(alphabet="abs.'-", min_size=1, max_size=4)


@settings(max_examples=500, deadline=None)
@given(st.lists(_LETTERS, min_size=1, max_size=8), st.text(alphabet="abs.'- x", max_size=40))
def test_generated_words_and_texts(words, text):
    plain, trie = _both(words)
    assert _matches(trie, text) == _matches(plain, text)
    # A search window cuts words off as the plain pattern sees them cut off.
    assert [bool(p.search(text, 3, 11)) for p in (plain, trie)] in ([True, True], [False, False])
