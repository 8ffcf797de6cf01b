"""`tonewatch evaluate`: metrics on labelled targets, and the accuracy floor on NewsMTSC dev data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tonewatch.flows.cli import app
from tonewatch.transforms.evaluate import classification_report

runner = CliRunner()

# Written for this test: one sentence, two targets with opposite labels.
OWN_RECORDS = [
    {
        "primary_gid": "t1",
        "sentence_normalized": "Moscow praised Washington but condemned Kyiv.",
        "targets": [
            {"from": 15, "to": 25, "mention": "Washington", "polarity": 6.0},
            {"from": 40, "to": 44, "mention": "Kyiv", "polarity": 2.0},
        ],
    },
    {
        "primary_gid": "t2",
        "sentence_normalized": "The minister met reporters in Brussels on Monday.",
        "targets": [{"from": 4, "to": 12, "mention": "minister", "polarity": 4.0}],
    },
]


def test_classification_report_counts_hand_computed():
    gold = ["negative", "negative", "neutral", "positive"]
    predicted = ["negative", "neutral", "neutral", "negative"]
    report = classification_report(gold, predicted)
    assert report["n"] == 4
    assert report["accuracy"] == 0.5
    # negative: precision 1/2, recall 1/2 -> 0.5; neutral: 1/2, 1/1 -> 0.6667; positive: 0.
    assert report["f1"] == {"negative": 0.5, "neutral": 0.6667, "positive": 0.0}
    assert report["macro_f1"] == pytest.approx((0.5 + 0.6667) / 3, abs=1e-4)
    assert report["confusion"]["positive"]["negative"] == 1


def test_evaluate_json_on_own_file_separates_two_targets(tmp_path):
    path = tmp_path / "own.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in OWN_RECORDS) + "\n")
    result = runner.invoke(app, ["evaluate", "--json", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"target_aware", "baseline"}
    for side in report.values():
        assert set(side) == {"n", "accuracy", "macro_f1", "f1", "confusion"}
        assert set(side["f1"]) == {"negative", "neutral", "positive"}
        assert side["n"] == 3
    # The sentence is one compound score for the baseline; the target-aware scorer
    # tells the praised target from the condemned one.
    assert report["target_aware"]["accuracy"] == 1.0
    assert report["baseline"]["accuracy"] < 1.0


def test_evaluate_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(OWN_RECORDS[0]) + "\n{not json\n")
    result = runner.invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: not valid JSON" in result.output


@pytest.mark.parametrize("name", ["devtest_rw_dev", "devtest_mt_dev"])
def test_target_aware_scorer_beats_sentence_vader_on_newsmtsc(name, shared_data):
    path = shared_data / "newsmtsc" / f"{name}.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    result = runner.invoke(app, ["evaluate", "--json", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # The floor (0.58) and the published baseline (0.49 rw, 0.50 mt).
    assert report["target_aware"]["macro_f1"] >= 0.58
    assert report["baseline"]["macro_f1"] == pytest.approx(0.495, abs=0.01)
