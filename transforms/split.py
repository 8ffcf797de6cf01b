"""Split article text into sentences with character offsets.

Pure: no I/O. A rule-based splitter, chosen for speed (linear in the text, no model)
and for the news cases the tests pin: abbreviations and titles, initials, decimals,
quotes that end or span sentences, and ``?``/``!`` inside a quote followed by its
attribution (``"Why now?" he asked.`` stays one sentence).
"""

from __future__ import annotations

import re

from .patterns import word_alternation
from .records import Sentence

# A boundary candidate: terminal punctuation, optional closing quotes/brackets, then space.
_CANDIDATE = re.compile(r"[.!?]+[\"')\]]*(?=\s+[\"'(\[]?[A-Z0-9])")
_LINE = re.compile(r"[^\n]+")
_SPEECH_VERB_AFTER_NAME = (
    "said|says|asked|asks|told|tells|wrote|writes|added|adds|replied|replies|answered|"
    "shouted|insisted|demanded|wondered|continued|declared|posted"
)
_ATTRIBUTION_AFTER_QUOTE = re.compile(
    r"\s+(?:[A-Z][\w.'\-]*\s+){1,4}(?:" + word_alternation(_SPEECH_VERB_AFTER_NAME.split("|")) + r")\b"
)
_NEXT_WORD = re.compile(r"\s+[\"'(\[]?([A-Za-z0-9]+)")

# Titles and abbreviations that are never a sentence end when followed by a name.
_NEVER_END = frozenset(
    "Mr Mrs Ms Dr Prof Gen Lt Col Maj Sgt Capt Cmdr Adm Rep Reps Sen Sens Gov Pres Amb "
    "Rev Fr St Mt Ft Hon Messrs Jr Sr No Nos Nr vs Vs v Art Sec Ch Fig Inc Corp Ltd Co "
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Wed Thu Fri Sat Sun "
    "approx est dept Dept Univ Ave Blvd e.g i.e cf al etc".split()
)
# Abbreviations that can also close a sentence ("... imposed by the U.S. The ...").
_MAYBE_END = frozenset("U.S U.K U.N E.U U.S.A U.S.S.R D.C a.m p.m Ltd Inc Co etc Jr Sr".split())
# Words that usually open a new sentence after an abbreviation like "U.S.".
_SENTENCE_OPENERS = frozenset(
    "The A An It He She They We I This That These Those But And In On At As After "
    "Before When While However Meanwhile Still Yet So If Its His Her Their Our There "
    "Moscow Kyiv Washington Russia Ukraine".split()
)


def _is_boundary(text: str, sentence_start: int, stop: int, end: int) -> bool:
    """Decide whether the candidate ``text[stop:end]`` (the punctuation run) ends a sentence."""
    if text[stop] != ".":
        # '"Why now?" Peskov asked.' is one sentence: a quote that opened the sentence is
        # followed by its attribution ('He asked: "Why now?" Nobody answered.' is two).
        is_opening_quote = text[end - 1] in "\"'" and text[sentence_start] in "\"'"
        return not (is_opening_quote and _ATTRIBUTION_AFTER_QUOTE.match(text, end))
    # Walk back to the start of the word before the stop: linear in the word, not the text.
    token_start = stop
    while token_start > 0 and not text[token_start - 1].isspace():
        token_start -= 1
    token = text[token_start:stop].lstrip("\"'([")
    if not token:
        return True
    if len(token) == 1 and token.isupper():
        # An initial ("Donald J. Trump"), not a sentence end.
        return False
    if token in _NEVER_END:
        return False
    if token in _MAYBE_END or ("." in token and token.replace(".", "").isalpha()):
        following = _NEXT_WORD.match(text, end)
        return bool(following and following.group(1) in _SENTENCE_OPENERS)
    return True


def _split_paragraph(text: str, start: int, stop: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    sentence_start = start
    for candidate in _CANDIDATE.finditer(text, start, stop):
        if _is_boundary(text, sentence_start, candidate.start(), candidate.end()):
            spans.append((sentence_start, candidate.end()))
            sentence_start = candidate.end()
            while sentence_start < stop and text[sentence_start].isspace():
                sentence_start += 1
    if sentence_start < stop:
        spans.append((sentence_start, stop))
    return spans


def _blocks(text: str) -> list[tuple[int, int]]:
    """Runs of lines that belong together: a line that starts in lower case continues the
    one before it (hard-wrapped text); any other line break ends a sentence (headlines)."""
    blocks: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        first = line.group().lstrip()[:1]
        adjacent = blocks and text.count("\n", blocks[-1][1], line.start()) == 1
        if adjacent and first.islower():
            blocks[-1] = (blocks[-1][0], line.end())
        else:
            blocks.append((line.start(), line.end()))
    return blocks


def split_sentences(text: str) -> list[Sentence]:
    """Split normalized text into sentences with offsets, line breaks first, then punctuation."""
    sentences: list[Sentence] = []
    for block_start, block_end in _blocks(text):
        while block_start < block_end and text[block_start].isspace():
            block_start += 1
        for begin, finish in _split_paragraph(text, block_start, block_end):
            while finish > begin and text[finish - 1].isspace():
                finish -= 1
            if finish > begin:
                sentences.append(Sentence(len(sentences), begin, finish, text[begin:finish]))
    return sentences


def paragraph_starts(text: str) -> frozenset[int]:
    """Offsets where a paragraph (a block of lines) begins, so attribution can see the breaks."""
    return frozenset(
        begin + len(text[begin:end]) - len(text[begin:end].lstrip()) for begin, end in _blocks(text)
    )
