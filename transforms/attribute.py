"""Attribute sentences to speakers: direct quotes, indirect speech, speech acts, continuations.

Pure: no I/O. Works on one article at a time, because a quote's speaker carries over:
``"…," he added`` and a quote that spans sentences belong to the last named speaker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .patterns import is_word_char, word_automaton
from .records import Attribution, Mention, Sentence
from .registry import Registry

SPEECH_VERBS = (
    "said says told tells added adds wrote writes stated states declared declares warned warns "
    "insisted insists stressed stresses noted notes argued argues claimed claims announced "
    "announces explained explains asked asks replied replies posted posts commented comments "
    "remarked emphasised emphasized underlined underscored vowed vows pledged suggested "
    "acknowledged admitted reiterated reiterates urged urges complained predicted "
    "responded countered conceded recalled observed"
).split()
# Reported speech acts carry a direction even with no quoted words: X <verb> Y.
SPEECH_ACTS = (
    "hailed hails praised praises thanked thanks welcomed welcomes backed backs supported "
    "congratulated lauded applauded endorsed commended "
    "criticised criticized criticises criticizes attacked attacks accused accuses condemned "
    "condemns threatened threatens mocked mocks blamed blames slammed slams denounced "
    "denounces rebuked lambasted derided dismissed rejected ridiculed berated insulted "
    "chided scolded castigated assailed blasted"
).split()
_VERBS = word_automaton(SPEECH_VERBS + SPEECH_ACTS)
_SPEECH_ACT_SET = frozenset(SPEECH_ACTS)
_ACCORDING_TO = re.compile(r"(?:^|[\s,(])[Aa]ccording to\s+$")
# What may stand between a subject and its verb: "Zelensky on Sunday said", "Trump has also
# verbally attacked", "Peskov, the Kremlin spokesman, said".
_SUBJECT_GAP = re.compile(r"^(?:'s?)?(?:\s*,[^,\"]{0,60},)?\s*(?:[A-Za-z][\w\-]*\s+){0,4}$")
# What may stand between a verb and a following subject: "said Kremlin spokesman Dmitry Peskov".
_INVERTED_GAP = re.compile(r"^\s+(?:[A-Za-z][\w\-'.]*\s+){0,4}$")
_PRONOUN_SUBJECT = re.compile(r"(?<![\w'])(he|she|He|She|it|It|they|They)\s+(?:\w+ly\s+)?$")
_PERSON_PRONOUNS = frozenset({"he", "she"})
_PASSIVE_AUXILIARY = re.compile(r"(?<!\w)(?:was|were|is|are|been|being)\s+(?:\w+ly\s+)?$")
_PASSIVE_AGENT = re.compile(r"\s+by\s+")
_INVERTED_OPENING = re.compile(r"(?:^|[,\"'])\s*$")
_SENTENCE_OPENING = re.compile(r"^[\W]*(?:[A-Za-z][\w.'-]*\s+){0,2}$")
_SAID_OF = re.compile(r"\s+(?:of|about)\s")
_SUBJECT_WINDOW_CHARS = 40


def speech_verbs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, str]]:
    r"""The speech verbs standing as whole words in ``text[start:end]``: (start, end, verb).

    What ``re.finditer(r"(?<![\w'-])(said|says|…)(?!\w)", text, start, end)`` finds (the
    character before ``start`` is looked at, a word cut off at ``end`` ends there), with one
    Aho–Corasick pass instead of trying every verb at every position.
    """
    stop = len(text) if end is None else min(end, len(text))
    found: list[tuple[int, int, str]] = []
    # Two whole words cannot overlap, so ordered by end the matches are ordered by start.
    for last, (length, verb) in _VERBS.iter(text, start, stop):
        verb_end = last + 1
        verb_start = verb_end - length
        if verb_start > 0 and (is_word_char(text[verb_start - 1]) or text[verb_start - 1] in "'-"):
            continue
        if verb_end < stop and is_word_char(text[verb_end]):
            continue
        found.append((verb_start, verb_end, verb))
    return found


def speech_verb_after_subject(text: str, start: int, end: int) -> int | None:
    """Where the speech verb starts when ``text[start:end]`` is its subject ("Peskov said"), else None.

    Reported speech acts ("X criticised Y") do not count: their subject is part of the act.
    """
    verbs = speech_verbs(text, end, end + _SUBJECT_WINDOW_CHARS)
    if verbs:
        verb_start, _, verb = verbs[0]
        if verb not in _SPEECH_ACT_SET and _SUBJECT_GAP.match(text[end:verb_start]):
            return verb_start
    return None


def article_quote_spans(
    sentences: Sequence[Sentence], paragraph_starts: frozenset[int]
) -> list[tuple[tuple[int, int], ...]]:
    """Quoted spans per sentence, following quotes that open in one sentence and close later.

    A new paragraph closes any open quote: news style reopens a quote that runs on.
    """
    result: list[tuple[tuple[int, int], ...]] = []
    inside = False
    for sentence in sentences:
        if sentence.start in paragraph_starts:
            inside = False
        text = sentence.text
        spans: list[tuple[int, int]] = []
        opened_at = 0 if inside else -1
        position = text.find('"')
        while position != -1:
            if inside:
                spans.append((opened_at, position + 1))
                inside = False
            else:
                opened_at = position
                inside = True
            position = text.find('"', position + 1)
        if inside:
            spans.append((opened_at, len(text)))
        result.append(tuple(spans))
    return result


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


@dataclass(slots=True)
class _Found:
    """What one sentence says about its speaker before the article context is applied.

    Made once per sentence: Final fields and an __init__ of its own compile to a native
    constructor, where a frozen dataclass's is interpreted (see ``records.Sentence``)."""

    speaker: Final[str | None]
    how: Final[str]  # "said", "speech_act", "pronoun", "unknown", "none"
    content_from: Final[int]  # where the speaker's words or the act's object begin
    pronoun: Final[str | None]
    whole_sentence: Final[bool]  # a passive act: its target stands before the verb

    def __init__(
        self,
        speaker: str | None,
        how: str,
        content_from: int = -1,
        pronoun: str | None = None,
        whole_sentence: bool = False,
    ) -> None:
        self.speaker = speaker
        self.how = how
        self.content_from = content_from
        self.pronoun = pronoun
        self.whole_sentence = whole_sentence


def _find_speaker(
    text: str, outside: str, mentions: Sequence[Mention], quotes: Sequence[tuple[int, int]]
) -> _Found:
    """The first verb outside quotes that attributes the sentence, and to whom."""
    free = [m for m in mentions if not _inside(m.start, quotes)] if quotes else mentions
    for verb_start, verb_end, verb in speech_verbs(outside):
        is_act = verb in _SPEECH_ACT_SET
        how = "speech_act" if is_act else "said"
        agent = _PASSIVE_AGENT.match(outside, verb_end)
        if agent and _PASSIVE_AUXILIARY.search(outside, 0, verb_start):
            by = next((m for m in free if m.start == agent.end()), None)
            if by is not None:  # "Putin was criticised by Zelensky"
                return _Found(by.actor_id, how, 0, whole_sentence=True)
        for subject in reversed([m for m in free if m.end <= verb_start]):
            if _SUBJECT_GAP.match(outside[subject.end : verb_start]):
                return _Found(subject.actor_id, how, verb_end)
        pronoun = _PRONOUN_SUBJECT.search(outside, 0, verb_start)
        if pronoun:
            return _Found(None, "pronoun", verb_end, pronoun.group(1).lower())
        if is_act:
            continue
        # Inverted attribution stands after a quote or a comma: '"…," said Peskov'.
        if _INVERTED_OPENING.search(text, 0, verb_start):
            named = [
                m
                for m in free
                if m.start >= verb_end and _INVERTED_GAP.match(outside[verb_end : m.start] + " ")
            ]
            if named:  # the last name of the phrase: "said Kremlin spokesman Dmitry Peskov"
                return _Found(named[-1].actor_id, how, verb_end)
        if quotes:
            return _Found(None, "unknown", verb_end)  # "said analyst John Smith"
    return _Found(None, "none")


def _subject_person(sentence: Sentence, mentions: Sequence[Mention], registry: Registry) -> str | None:
    """The person a sentence opens with ("Rubio shook his head."), for he/she that follow."""
    for mention in mentions:
        if _SENTENCE_OPENING.match(sentence.text[: mention.start]):
            return mention.actor_id if registry.actors[mention.actor_id].kind == "person" else None
        break
    return None


def attribute_article(
    sentences: Sequence[Sentence],
    mentions: Sequence[Sequence[Mention]],
    registry: Registry,
    *,
    paragraph_starts: frozenset[int] = frozenset(),
) -> list[Attribution]:
    """One ``Attribution`` per sentence, carrying the last named speaker where the text does."""
    quotes_per_sentence = article_quote_spans(sentences, paragraph_starts)
    results: list[Attribution] = []
    last_speaker: str | None = None
    last_subject: str | None = None  # a person named since the last speaker, for "he said"
    waiting: list[int] = []  # sentences of a running quote whose speaker comes later
    for index, sentence in enumerate(sentences):
        text, quotes = sentence.text, quotes_per_sentence[index]
        outside = _blank(text, quotes)
        found = _find_speaker(text, outside, mentions[index], quotes)
        speaker, how = found.speaker, found.how
        content_from = found.content_from
        if how == "none":
            for mention in mentions[index]:
                if not _inside(mention.start, quotes) and _ACCORDING_TO.search(text[: mention.start]):
                    speaker, how, content_from = mention.actor_id, "said", mention.end
                    break
        if how == "pronoun":
            candidate = last_subject or last_speaker
            speaker = candidate if _pronoun_fits(found.pronoun, candidate, registry) else None
            how = "continuation"
        runs_on = bool(quotes) and quotes[-1][1] == len(text) and text.rstrip()[-1:] != '"'
        all_quote = bool(quotes) and not outside.strip(" ,.;:")
        if how == "none" and all_quote and not runs_on:
            # A quote with no attribution of its own: the speaker of the quote before it.
            speaker, how = last_speaker, "continuation"
        content = _content(text, quotes, content_from, found.whole_sentence) if speaker else ()
        method = _method(how, bool(quotes)) if speaker else "none"
        results.append(Attribution(speaker, method, content, quotes))
        if speaker is None and (runs_on or (waiting and all_quote)):
            waiting.append(index)
            continue
        for earlier in waiting:
            results[earlier] = Attribution(
                speaker, method if speaker else "none", results[earlier].quotes, results[earlier].quotes
            )
        waiting = []
        if speaker is not None:
            last_speaker, last_subject = speaker, None
        elif how in ("said", "speech_act", "unknown"):
            last_speaker = last_subject = None  # a speaker we do not know: "he said" is not ours
        else:
            last_subject = _subject_person(sentence, mentions[index], registry) or last_subject
    return results


def _content(
    text: str, quotes: Sequence[tuple[int, int]], content_from: int, whole_sentence: bool
) -> tuple[tuple[int, int], ...]:
    """Where the speaker's own words (or the speech act's object) are."""
    if whole_sentence:
        return ((0, len(text)),)
    if quotes and content_from >= 0 and quotes[0][0] < content_from:
        # '"…," Peskov said': his words are the quote, and "said of Zelensky" names its topic.
        topic = _SAID_OF.match(text, content_from)
        return (*quotes, (content_from, len(text))) if topic else tuple(quotes)
    return ((max(content_from, 0), len(text)),)


def _method(how: str, has_quote: bool) -> str:
    if how == "said":
        return "quote" if has_quote else "indirect"
    return how


def _pronoun_fits(pronoun: str | None, speaker: str | None, registry: Registry) -> bool:
    if speaker is None or pronoun is None:
        return False
    kind = registry.actors[speaker].kind
    return (kind == "person") == (pronoun in _PERSON_PRONOUNS)
