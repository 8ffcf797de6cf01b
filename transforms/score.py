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

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    SentimentIntensityAnalyzer,
    SentiText,
    normalize,
)

from .errors import LexiconError
from .records import Mention

SCORER_RULES_VERSION = "1"
_TOKEN = re.compile(r"\S+")
# Clause edges: a target's tone is read within its clause ("praised Washington but condemned Kyiv").
_CLAUSE_BREAK = re.compile(
    r"[;:]|\s[\u2014\u2013-]\s|\s\u2014|\u2014\s|,?\s(?:but|while|whereas|although|though|however|yet)\s"
)
DISTANCE_DECAY_TOKENS = 6.0


@dataclass(frozen=True, slots=True)
class SentenceValences:
    """The per-token valences of one sentence with each token's character span."""

    spans: tuple[tuple[int, int], ...]
    valences: tuple[float, ...]
    compound: float


def parse_lexicon(text: str, *, name: str) -> dict[str, float]:
    """Parse a lexicon additions TOML (``[words] word = valence``), valences in [-4, 4]."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{name}: not valid TOML: {exc}") from exc
    words = document.get("words", {})
    if not isinstance(words, dict):
        raise LexiconError(f"{name}: [words] must be a table of word = valence")
    lexicon: dict[str, float] = {}
    for word, valence in words.items():
        if not isinstance(valence, int | float) or isinstance(valence, bool) or not -4 <= valence <= 4:
            raise LexiconError(f'{name}, word "{word}": valence must be a number in [-4, 4], got {valence!r}')
        lexicon[word.lower()] = float(valence)
    return lexicon


class ToneScorer:
    """VADER with the domain lexicon; build once per process, reuse for every sentence."""

    def __init__(self, lexicon_additions: dict[str, float] | None = None) -> None:
        self.analyzer = SentimentIntensityAnalyzer()
        self.additions = dict(lexicon_additions or {})
        self.analyzer.lexicon.update(self.additions)
        self.version_material = repr(sorted(self.additions.items()))

    def valences(self, text: str) -> SentenceValences:
        """Per-token valences exactly as VADER computes them, before it sums them."""
        analyzer = self.analyzer
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        sentiments: list[float] = []
        for i, item in enumerate(words):
            lowered = item.lower()
            if lowered in BOOSTER_DICT or (
                lowered == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"
            ):
                sentiments.append(0)
                continue
            sentiments = analyzer.sentiment_valence(0, sentitext, item, i, sentiments)
        sentiments = analyzer._but_check(words, sentiments)
        compound = analyzer.score_valence(sentiments, text)["compound"] if sentiments else 0.0
        spans = tuple((m.start(), m.end()) for m in _TOKEN.finditer(text))
        return SentenceValences(spans, tuple(float(s) for s in sentiments), compound)

    def target_tone(
        self,
        text: str,
        sentence: SentenceValences,
        mention: Mention,
        *,
        scope: tuple[int, int] | None = None,
    ) -> float:
        """Tone toward ``mention``: valences in its scope, nearer tokens weighing more."""
        begin, end = scope if scope is not None else clause_around(text, mention.start, mention.end)
        total = 0.0
        centre_token = _token_index_at(sentence.spans, mention.start)
        for index, (token_start, token_end) in enumerate(sentence.spans):
            valence = sentence.valences[index] if index < len(sentence.valences) else 0.0
            if valence == 0.0 or token_end <= begin or token_start >= end:
                continue
            if mention.start <= token_start < mention.end:
                continue  # the target's own name carries no tone toward itself
            distance = abs(index - centre_token)
            total += valence / (1.0 + distance / DISTANCE_DECAY_TOKENS)
        return round(normalize(total), 4) if total else 0.0


def _token_index_at(spans: Sequence[tuple[int, int]], position: int) -> int:
    for index, (_start, end) in enumerate(spans):
        if end > position:
            return index
    return max(len(spans) - 1, 0)


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause that holds ``text[start:end]``, bounded by clause breaks."""
    begin, finish = 0, len(text)
    for brk in _CLAUSE_BREAK.finditer(text):
        if brk.end() <= start:
            begin = brk.end()
        elif brk.start() >= end:
            finish = brk.start()
            break
    return begin, finish


def scorer_version(scorer: ToneScorer, registry_fingerprint: str) -> str:
    """A hash of lexicon, rules and registry: stored with every score, changes force re-scoring."""
    material = f"{SCORER_RULES_VERSION}|{scorer.version_material}|{registry_fingerprint}"
    return hashlib.sha256(material.encode()).hexdigest()[:12]
