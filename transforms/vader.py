"""VADER's per-token valences, computed exactly as vaderSentiment 3.3.2 computes them, faster.

Pure: no I/O. VADER's own loop lower-cases the whole sentence again for every negation and
idiom check of every sentiment-laden word (four list copies per word) and visits every
token through a method call; most tokens of a news sentence carry no valence at all. This
module lower-cases a sentence once, visits only the tokens that are in the lexicon, and
applies VADER's rules to them in VADER's order with VADER's constants; VADER's small
helpers are ported too, so they run compiled, and an idiom or booster phrase is only
looked up where its last word stands. Its output is the list
``SentimentIntensityAnalyzer.sentiment_valence`` builds, value for value:
``tests/test_vader.py`` checks that against VADER itself on real and generated sentences.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

_PUNCTUATION = string.punctuation
_NEGATE = frozenset(NEGATE)
# The last word of every idiom and booster phrase: a phrase can only match where its last
# word stands, and most of a sentence's sentiment words have none of these around them.
_PHRASE_ENDINGS = frozenset(
    phrase.rsplit(" ", 1)[-1] for phrase in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in phrase
)


def _negated(word_lower: str) -> bool:
    # vaderSentiment's negated([word]) lower-cases its input once more.
    word_lower = word_lower.lower()
    return word_lower in _NEGATE or "n't" in word_lower


def words_of(text: str) -> list[str]:
    """VADER's tokens: split on white space, punctuation stripped unless 2 characters or fewer remain."""
    return [token if len(stripped := token.strip(_PUNCTUATION)) <= 2 else stripped for token in text.split()]


class Valences:
    """VADER's lexicon and rules, compiled for one analyzer's (possibly extended) lexicon."""

    def __init__(self, analyzer: SentimentIntensityAnalyzer) -> None:
        self.analyzer = analyzer
        self.lexicon: Mapping[str, float] = analyzer.lexicon
        # Boosters score 0 wherever they stand; a sentence with none of the rest scores 0.
        self._sentiment_words = frozenset(word for word in self.lexicon if word not in BOOSTER_DICT)

    def of(self, text: str) -> tuple[list[float], list[int], float]:
        """VADER on ``text``: each token's valence after the "but" rule, the indexes of the
        tokens whose valence is not 0, and the compound."""
        words = words_of(text)
        lowered = [word.lower() for word in words]
        sentiments, loaded = self.token_valences(words, lowered)
        if loaded and "but" in lowered:
            # VADER's own rule, bug for bug: it finds each value's position with list.index.
            # It only scales values, so the tokens that carry one stay the same.
            sentiments = SentimentIntensityAnalyzer._but_check(words, sentiments)
        return sentiments, loaded, self.compound(sentiments, text)

    def token_valences(self, words: list[str], lowered: list[str]) -> tuple[list[float], list[int]]:
        """The valence of each of ``words`` before the "but" rule, as VADER's loop builds them,
        and the indexes of those that are not 0."""
        sentiments: list[float] = [0] * len(words)  # type: ignore[list-item]  # VADER's zeros are ints
        loaded: list[int] = []
        if self._sentiment_words.isdisjoint(lowered):
            return sentiments, loaded
        candidates = self._sentiment_words.intersection(lowered)
        last = len(words) - 1
        is_cap_diff = _allcap_differential(words)
        for i, lower in enumerate(lowered):
            if lower not in candidates or (lower == "kind" and i < last and lowered[i + 1] == "of"):
                continue
            valence = self._valence(words, lowered, i, is_cap_diff)
            if valence:
                sentiments[i] = valence
                loaded.append(i)
        return sentiments, loaded

    def _valence(self, words: list[str], lowered: list[str], i: int, is_cap_diff: bool) -> float:
        """``SentimentIntensityAnalyzer.sentiment_valence`` for the lexicon word at ``i``."""
        lexicon = self.lexicon
        item, item_lower = words[i], lowered[i]
        valence = lexicon[item_lower]
        if item_lower == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowered[i - 1] == "no")
            or (i > 1 and lowered[i - 2] == "no")
            or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[item_lower] * N_SCALAR
        if item.isupper() and is_cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            if i > start_i and lowered[i - (start_i + 1)] not in lexicon:
                before = i - (start_i + 1)
                s = _scalar_inc_dec(words[before], lowered[before], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
        return _least_check(valence, lowered, i, lexicon)

    def compound(self, sentiments: list[float], text: str) -> float:
        """VADER's compound for ``sentiments`` (after the "but" rule) of ``text``."""
        if not sentiments:
            return 0.0
        total = float(sum(sentiments))
        if total:
            emphasis = _punctuation_emphasis(text)
            total = total + emphasis if total > 0 else total - emphasis
        return round(normalize(total), 4)


def normalize(score: float, alpha: float = 15) -> float:
    """VADER's ``normalize``: ``score`` mapped into [-1, 1]."""
    norm_score = score / math.sqrt((score * score) + alpha)
    if norm_score < -1.0:
        return -1.0
    if norm_score > 1.0:
        return 1.0
    return norm_score


def _allcap_differential(words: list[str]) -> bool:
    """VADER's ``allcap_differential``: are some, but not all, of ``words`` in capitals?"""
    capitalised = 0
    for word in words:
        if word.isupper():
            capitalised += 1
    return 0 < len(words) - capitalised < len(words)


def _scalar_inc_dec(word: str, word_lower: str, valence: float, is_cap_diff: bool) -> float:
    """VADER's ``scalar_inc_dec`` for a word already lower-cased."""
    if word_lower not in BOOSTER_DICT:
        return 0.0
    scalar: float = BOOSTER_DICT[word_lower]
    if valence < 0:
        scalar *= -1
    if word.isupper() and is_cap_diff:
        if valence > 0:
            scalar += C_INCR
        else:
            scalar -= C_INCR
    return scalar


def _punctuation_emphasis(text: str) -> float:
    """VADER's ``_punctuation_emphasis``: up to four "!", and two or more "?"."""
    exclamations = min(text.count("!"), 4)
    questions = text.count("?")
    question_emphasis = 0.0
    if questions > 1:
        question_emphasis = questions * 0.18 if questions <= 3 else 0.96
    return exclamations * 0.292 + question_emphasis


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    """``SentimentIntensityAnalyzer._negation_check`` on words lower-cased once."""
    if start_i == 0:
        if _negated(lowered[i - 1]):
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lowered[i - 2] == "never" and lowered[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            pass
        elif _negated(lowered[i - 2]):
            valence = valence * N_SCALAR
    else:
        never_so = lowered[i - 3] == "never" and lowered[i - 2] in ("so", "this")
        if never_so or lowered[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 3] == "without" and (lowered[i - 2] == "doubt" or lowered[i - 1] == "doubt"):
            pass
        elif _negated(lowered[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    """``SentimentIntensityAnalyzer._special_idioms_check`` on words lower-cased once; a
    phrase is only looked up where its last word stands."""
    endings = _PHRASE_ENDINGS
    ends_before = lowered[i - 1] in endings or lowered[i - 2] in endings
    phrases_before: tuple[str, ...] = ()  # the ones ending before ``i``, for the boosters below
    if ends_before or lowered[i] in endings:
        twoone = f"{lowered[i - 2]} {lowered[i - 1]}"
        threetwoone = f"{lowered[i - 3]} {lowered[i - 2]} {lowered[i - 1]}"
        threetwo = f"{lowered[i - 3]} {lowered[i - 2]}"
        phrases_before = (threetwoone, threetwo, twoone)
        onezero = f"{lowered[i - 1]} {lowered[i]}"
        twoonezero = f"{lowered[i - 2]} {lowered[i - 1]} {lowered[i]}"
        for sequence in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if sequence in SPECIAL_CASES:
                valence = SPECIAL_CASES[sequence]
                break
    if len(lowered) - 1 > i and lowered[i + 1] in endings:
        zeroone = f"{lowered[i]} {lowered[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowered) - 1 > i + 1 and lowered[i + 2] in endings:
        zeroonetwo = f"{lowered[i]} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    if ends_before:
        for n_gram in phrases_before:
            if n_gram in BOOSTER_DICT:
                valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _least_check(valence: float, lowered: list[str], i: int, lexicon: Mapping[str, float]) -> float:
    """``SentimentIntensityAnalyzer._least_check`` on words lower-cased once."""
    if i > 1 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        if lowered[i - 2] != "at" and lowered[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence
