"""Score tone with VADER: one valence pass per sentence, then each target's tone from its scope.

Pure: no I/O. VADER computes a valence per token before it sums them; we keep those
valences, so a sentence's compound and every target's tone cost one VADER pass in all.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .attribute import SPEECH_ACTS, speech_verb_after_subject
from .errors import LexiconError
from .patterns import word_alternation, word_automaton
from .records import Mention, Record
from .vader import Valences, normalize

SCORER_RULES_VERSION = "3"
LABELS = ("negative", "neutral", "positive")
# Clause edges: a target's tone is read within its clause ("praised Washington but condemned Kyiv").
# The lookahead only lets the engine skip, at once, the positions where no break can start.
_CLAUSE_BREAK = re.compile(
    r"(?=[;:,\s\u2014])(?:[;:]|\s[\u2014\u2013-]\s|\s\u2014|\u2014\s"
    r"|,?\s(?:but|while|whereas|although|though|however|yet)\s"
    # "welcomed Washington's offer and denounced Kyiv": a second speech act opens a clause.
    r"|,?\s(?:and|or)\s(?=(?:also\s|then\s)?(?:" + word_alternation(SPEECH_ACTS) + r")\b))"
)
_BREAK_CHARACTERS = ";:\u2014\u2013-"
_BREAK_WORDS = ("but", "while", "whereas", "though", "however", "yet")
_ACT_WORDS = word_automaton(SPEECH_ACTS)
_CONTRAST = re.compile(r",?\s(?:but|whereas)\s")
_ACT_BEFORE = re.compile(r"(?<![\w'-])(?:" + word_alternation(SPEECH_ACTS) + r")(?!\w)")
# Chosen on NewsMTSC train (see README, "Accuracy"): a token 5 tokens away weighs half,
# one outside the target's clause or quote 0.4 more, words quoted from others 0.3.
DISTANCE_DECAY_TOKENS = 5.0
OUT_OF_SCOPE_WEIGHT = 0.4
OTHER_QUOTE_WEIGHT = 0.3
# Sentences whose valences are remembered per scorer (about 6 kB each, so ~120 MB): wire
# copies usually arrive in the same run; cleared, not evicted one by one, to keep the
# lookup a plain dict (and memory flat as a corpus grows).
VALENCE_CACHE_SENTENCES = 20_000


@dataclass(frozen=True, slots=True)
class Thresholds(Record):
    """Scores below ``negative`` are negative, above ``positive`` positive, else neutral."""

    negative: float = -0.1
    positive: float = 0.025

    def __post_init__(self) -> None:
        if not self.negative <= self.positive:
            raise ValueError(
                "the negative threshold must not exceed the positive one,"
                f" got {self.negative} > {self.positive}"
            )

    def label(self, score: float) -> str:
        if score < self.negative:
            return "negative"
        if score > self.positive:
            return "positive"
        return "neutral"


@dataclass(frozen=True, slots=True)
class Lexicon(Record):
    """Words merged over VADER's lexicon, and the thresholds that label a score."""

    words: dict[str, float]
    thresholds: Thresholds


@dataclass(slots=True, unsafe_hash=True)  # Final fields, compiled __init__: see records.Sentence
class SentenceValences:
    """The per-token valences of one sentence (tokens as VADER splits them: at white space);
    the spans of the tokens that carry one, and the clause breaks, found on each use
    (compiled, this is a native class without ``__dict__``, so nothing is cached on it:
    ``ToneScorer.target_tones`` finds them once for all of a sentence's targets)."""

    text: Final[str]
    valences: Final[tuple[float, ...]]
    compound: Final[float]
    # Indexes of the tokens that carry any valence: most carry none, and targets skip them.
    loaded: Final[tuple[int, ...]]

    def __init__(
        self, text: str, valences: tuple[float, ...], compound: float, loaded: tuple[int, ...] = ()
    ) -> None:
        self.text = text
        self.valences = valences
        self.compound = compound
        self.loaded = loaded

    @property
    def loaded_spans(self) -> tuple[tuple[int, int], ...]:
        """The spans of the ``loaded`` tokens only: a few of a sentence's twenty-odd."""
        text, spans = self.text, []
        for index in self.loaded:
            rest = text.split(None, index)[-1]  # the text from token ``index`` on
            start = len(text) - len(rest)
            spans.append((start, start + len(rest.split(None, 1)[0])))
        return tuple(spans)

    def token_index_at(self, position: int) -> int:
        """The index of the token that holds (or first follows) ``position``."""
        text = self.text
        before = len(text[:position].split())
        if 0 < position < len(text) and not text[position - 1].isspace() and not text[position].isspace():
            before -= 1  # the split cut the token that holds ``position``
        return min(before, max(len(self.valences) - 1, 0))

    @property
    def clause_breaks(self) -> tuple[tuple[int, int], ...]:
        """Where the clause breaks are."""
        return _clause_breaks(self.text)


def parse_lexicon(text: str, *, name: str, base: Lexicon | None = None) -> Lexicon:
    """Parse a lexicon TOML (``[words] word = valence`` in [-4, 4], optional ``[thresholds]``).

    With ``base``, the file's words and thresholds are merged over it.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{name}: not valid TOML: {exc}") from exc
    words_table = document.get("words", {})
    if not isinstance(words_table, dict):
        raise LexiconError(f"{name}: [words] must be a table of word = valence")
    words: dict[str, float] = dict(base.words) if base else {}
    for word, valence in words_table.items():
        if not isinstance(valence, int | float) or isinstance(valence, bool) or not -4 <= valence <= 4:
            raise LexiconError(f'{name}, word "{word}": valence must be a number in [-4, 4], got {valence!r}')
        words[word.lower()] = float(valence)
    thresholds = base.thresholds if base else Thresholds()
    table = document.get("thresholds")
    if table is not None:
        try:
            thresholds = Thresholds(
                float(table.get("negative", thresholds.negative)),
                float(table.get("positive", thresholds.positive)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise LexiconError(f"{name}, [thresholds]: {exc}") from exc
    return Lexicon(words, thresholds)


class ToneScorer:
    """VADER with the domain lexicon; build once per process, reuse for every sentence."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.analyzer = SentimentIntensityAnalyzer()
        self.lexicon = lexicon or Lexicon({}, Thresholds())
        self.analyzer.lexicon.update(self.lexicon.words)
        self._vader = Valences(self.analyzer)
        self.version_material = repr((sorted(self.lexicon.words.items()), self.lexicon.thresholds))
        self._cache: dict[str, SentenceValences] = {}

    def valences(self, text: str) -> SentenceValences:
        """Per-token valences of ``text``, remembered: syndicated copies and boilerplate repeat."""
        cached = self._cache.get(text)
        if cached is None:
            if len(self._cache) >= VALENCE_CACHE_SENTENCES:
                self._cache.clear()
            cached = self._cache[text] = self._compute_valences(text)
        return cached

    def _compute_valences(self, text: str) -> SentenceValences:
        """Per-token valences as VADER computes them before it sums them.

        Both the sentence's compound and the valences kept for targets apply VADER's "but"
        rule (the clause after "but" weighs more); each target also reads only its own
        clause ("thanked Macron but condemned Putin").
        """
        sentiments, loaded, compound = self._vader.of(text)
        return SentenceValences(text, tuple(map(float, sentiments)), compound, tuple(loaded))

    def target_tone(
        self,
        text: str,
        sentence: SentenceValences,
        mention: Mention,
        *,
        quotes: Sequence[tuple[int, int]] = (),
    ) -> float:
        """Tone toward ``mention`` from the valences in its scope, nearer tokens weighing more.

        The scope is the quote the mention stands in, else its clause. A mention that is
        the subject of a speech verb ("Peskov said …") is not the topic of what it says:
        its scope ends at the verb, and with a direct quote it gets no tone at all.
        """
        return self.target_tones(text, sentence, (mention,), quotes=quotes)[0]

    def target_tones(
        self,
        text: str,
        sentence: SentenceValences,
        mentions: Sequence[Mention],
        *,
        quotes: Sequence[tuple[int, int]] = (),
    ) -> list[float]:
        """``target_tone`` of each of ``mentions``, all in ``text``: the loaded tokens' spans
        and the clause breaks are found once for all of them."""
        if not sentence.loaded:
            return [0.0] * len(mentions)
        spans = sentence.loaded_spans
        breaks: tuple[tuple[int, int], ...] | None = None
        tones: list[float] = []
        for mention in mentions:
            quote = next(((b, e) for b, e in quotes if b <= mention.start < e), None) if quotes else None
            hard_begin, hard_end = 0, len(text)
            if quote is not None:
                begin, end = quote
            else:
                verb_at = speech_verb_after_subject(text, mention.start, mention.end)
                if verb_at is not None and quotes:
                    tones.append(0.0)
                    continue
                if breaks is None:
                    breaks = sentence.clause_breaks
                begin, end = _clause_within(breaks, mention.start, mention.end, len(text))
                if _ACT_BEFORE.search(text, begin, mention.start):
                    # The object of a speech act ("thanked Macron but condemned Putin") takes
                    # its tone from its own act only, not from the other side of the contrast.
                    hard_begin, hard_end = clause_around(text, mention.start, mention.end, breaks=_CONTRAST)
                if verb_at is not None:
                    end = min(end, verb_at)
            total = 0.0
            centre_token = sentence.token_index_at(mention.start)
            for index, (token_start, token_end) in zip(sentence.loaded, spans, strict=True):
                if mention.start <= token_start < mention.end:
                    continue  # the target's own name carries no tone toward itself
                if token_end <= hard_begin or token_start >= hard_end:
                    continue  # across "but": the other side of a contrast says nothing of this target
                weight = 1.0 / (1.0 + abs(index - centre_token) / DISTANCE_DECAY_TOKENS)
                if token_end <= begin or token_start >= end:
                    weight *= OUT_OF_SCOPE_WEIGHT
                if quote is None and quotes and any(b <= token_start < e for b, e in quotes):
                    weight *= OTHER_QUOTE_WEIGHT  # someone else's words, not the sentence about the target
                total += sentence.valences[index] * weight
            tones.append(round(normalize(total), 4) if total else 0.0)
        return tones


def clause_around(
    text: str, start: int, end: int, *, breaks: re.Pattern[str] | None = None
) -> tuple[int, int]:
    """The clause that holds ``text[start:end]``, bounded by clause breaks."""
    return _clause_within(_break_spans(text, breaks or _CLAUSE_BREAK), start, end, len(text))


def _clause_breaks(text: str) -> tuple[tuple[int, int], ...]:
    # Every branch of _CLAUSE_BREAK needs one of these characters or words, or a speech act:
    # a few substring tests spare most sentences the regex.
    if (
        any(char in text for char in _BREAK_CHARACTERS)
        or any(word in text for word in _BREAK_WORDS)
        or next(_ACT_WORDS.iter(text), None) is not None
    ):
        return _break_spans(text, _CLAUSE_BREAK)
    return ()


def _break_spans(text: str, breaks: re.Pattern[str]) -> tuple[tuple[int, int], ...]:
    return tuple(m.span() for m in breaks.finditer(text))


def _clause_within(breaks: Sequence[tuple[int, int]], start: int, end: int, length: int) -> tuple[int, int]:
    begin, finish = 0, length
    for break_start, break_end in breaks:
        if break_end <= start:
            begin = break_end
        elif break_start >= end:
            finish = break_start
            break
    return begin, finish


def scorer_version(scorer: ToneScorer, registry_fingerprint: str) -> str:
    """A hash of lexicon, rules and registry: stored with every score, changes force re-scoring."""
    material = f"{SCORER_RULES_VERSION}|{scorer.version_material}|{registry_fingerprint}"
    return hashlib.sha256(material.encode()).hexdigest()[:12]
