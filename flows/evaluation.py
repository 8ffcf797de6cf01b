"""Read a NewsMTSC-format file and score it two ways: target-aware and plain sentence VADER."""

from __future__ import annotations

import json
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ..transforms.errors import SourceError
from ..transforms.evaluate import (
    LabelledTarget,
    classification_report,
    parse_newsmtsc_record,
    sentence_scores,
    target_aware_scores,
)
from ..transforms.score import Thresholds, ToneScorer

# The baseline is VADER as its authors recommend it: compound with ±0.05 thresholds.
BASELINE_THRESHOLDS = Thresholds(-0.05, 0.05)


def read_newsmtsc(path: Path) -> list[LabelledTarget]:
    """Every labelled target in a NewsMTSC JSON-lines file; a malformed line is an error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from exc
    targets: list[LabelledTarget] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            targets.extend(parse_newsmtsc_record(json.loads(line), where=where))
        except json.JSONDecodeError as exc:
            raise SourceError(f"{where}: not valid JSON: {exc.msg}") from exc
        except ValueError as exc:
            raise SourceError(str(exc)) from exc
    if not targets:
        raise SourceError(f"{path}: no labelled targets found")
    return targets


def evaluate_file(path: Path, scorer: ToneScorer) -> dict[str, dict]:
    """The classification report of the target-aware scorer and of the sentence baseline."""
    targets = read_newsmtsc(path)
    gold = [t.label for t in targets]
    thresholds = scorer.lexicon.thresholds
    aware = target_aware_scores(targets, scorer)
    vader = SentimentIntensityAnalyzer()
    baseline = sentence_scores(targets, lambda s: vader.polarity_scores(s)["compound"])
    return {
        "target_aware": classification_report(gold, [thresholds.label(s) for s in aware]),
        "baseline": classification_report(gold, [BASELINE_THRESHOLDS.label(s) for s in baseline]),
    }


def format_evaluation(path: Path, result: dict[str, dict]) -> str:
    """A plain-text table of both reports side by side, then both confusion matrices."""
    aware, base = result["target_aware"], result["baseline"]
    rows = [
        f"{path.name}: {aware['n']} targets",
        f"{'':18}{'target-aware':>14}{'baseline':>14}",
        f"{'accuracy':18}{aware['accuracy']:>14.3f}{base['accuracy']:>14.3f}",
        f"{'macro-F1':18}{aware['macro_f1']:>14.3f}{base['macro_f1']:>14.3f}",
    ]
    rows += [
        f"{'F1 ' + label:18}{aware['f1'][label]:>14.3f}{base['f1'][label]:>14.3f}" for label in aware["f1"]
    ]
    for name, report in (("target-aware", aware), ("baseline", base)):
        labels = list(report["confusion"])
        rows.append(f"confusion, {name} (rows: gold, columns: predicted)")
        rows.append(f"{'':12}" + "".join(f"{label:>10}" for label in labels))
        for gold in labels:
            rows.append(f"{gold:12}" + "".join(f"{report['confusion'][gold][p]:>10}" for p in labels))
    return "\n".join(rows)
