"""Measure tone classification against labelled targets: accuracy, macro-F1, confusion.

Pure: no I/O. The caller reads the NewsMTSC-format file and passes its records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .attribute import article_quote_spans
from .records import Mention, Sentence
from .score import LABELS, SentenceValences, ToneScorer

NEWSMTSC_POLARITY = {2.0: "negative", 4.0: "neutral", 6.0: "positive"}


@dataclass(frozen=True, slots=True)
class LabelledTarget:
    sentence: str
    start: int
    end: int
    label: str


def parse_newsmtsc_record(record: dict, *, where: str) -> list[LabelledTarget]:
    """The labelled targets of one NewsMTSC line (sentence_normalized, targets[from, to, polarity])."""
    sentence = record.get("sentence_normalized")
    if not isinstance(sentence, str):
        raise ValueError(f"{where}: sentence_normalized must be a string")
    targets = []
    for target in record.get("targets", []):
        label = NEWSMTSC_POLARITY.get(float(target.get("polarity", -1)))
        start, end = target.get("from"), target.get("to")
        if label is None or not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end:
            raise ValueError(f"{where}: a target needs integer from < to and polarity 2, 4 or 6")
        targets.append(LabelledTarget(sentence, start, min(end, len(sentence)), label))
    return targets


def target_aware_scores(targets: Sequence[LabelledTarget], scorer: ToneScorer) -> list[float]:
    """Each target's tone from its scope, with one VADER pass per distinct sentence."""
    cache: dict[str, tuple[SentenceValences, tuple[tuple[int, int], ...]]] = {}
    scores = []
    for target in targets:
        if target.sentence not in cache:
            cache[target.sentence] = (scorer.valences(target.sentence), sentence_quotes(target.sentence))
        valences, quotes = cache[target.sentence]
        mention = Mention("target", target.start, target.end, target.sentence[target.start : target.end])
        scores.append(scorer.target_tone(target.sentence, valences, mention, quotes=quotes))
    return scores


def sentence_quotes(sentence: str) -> tuple[tuple[int, int], ...]:
    """Quoted spans of a lone sentence; typographic quotes count (offsets are unchanged)."""
    straight = sentence.replace("\u201c", '"').replace("\u201d", '"')
    return article_quote_spans([Sentence(0, 0, len(straight), straight)], frozenset())[0]


def sentence_scores(targets: Sequence[LabelledTarget], compound: Callable[[str], float]) -> list[float]:
    """The baseline: every target gets its whole sentence's compound score."""
    cache: dict[str, float] = {}
    return [cache.setdefault(t.sentence, compound(t.sentence)) for t in targets]


def classification_report(gold: Sequence[str], predicted: Iterable[str]) -> dict:
    """n, accuracy, macro-F1, per-class F1 and the confusion matrix (rows gold, columns predicted)."""
    predicted = list(predicted)
    confusion = {g: {p: 0 for p in LABELS} for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    f1 = {}
    for label in LABELS:
        true_positive = confusion[label][label]
        predicted_count = sum(confusion[g][label] for g in LABELS)
        gold_count = sum(confusion[label].values())
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / gold_count if gold_count else 0.0
        f1[label] = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    n = len(gold)
    correct = sum(confusion[label][label] for label in LABELS)
    return {
        "n": n,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "macro_f1": round(sum(f1.values()) / len(LABELS), 4),
        "f1": f1,
        "confusion": confusion,
    }
