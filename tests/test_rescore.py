"""A new scorer version (here: a lexicon file) re-scores every article once, in units, then none."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tonewatch.flows.settings import SAMPLE_CORPUS


def split_corpus(folder: Path, *, files: int) -> Path:
    lines = SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    folder.mkdir()
    for index in range(files):
        (folder / f"part-{index}.jsonl").write_text("".join(lines[index::files]), encoding="utf-8")
    return folder


def test_lexicon_change_rescores_everything_once(prefect_harness, tmp_path):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    corpus = split_corpus(tmp_path / "corpus", files=4)
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('version = "test"\n\n[words]\nconstructive = 2.5\n', encoding="utf-8")
    db_path = tmp_path / "tonewatch.duckdb"

    def run(lexicon_file: Path | None):
        summary, _ = run_flow_cleanly(
            pipeline_flow,
            expected_task_runs=lambda s: s.task_runs,
            sources=[str(corpus)],
            db_path=str(db_path),
            report_path=None,
            lexicon_file=str(lexicon_file) if lexicon_file else None,
            batch_articles=10,  # units of ~30 kB: the re-scoring goes unit by unit
            workers=1,
        )
        with duckdb.connect(str(db_path), read_only=True) as con:
            versions = {
                table: con.execute(f"select distinct scorer_version from {table}").fetchall()
                for table in ("articles", "sentences", "mentions", "edges")
            }
            runs = con.execute("select scorer_version from runs order by started_at desc limit 1").fetchall()
        return summary, versions, runs[0][0]

    first, _, old_version = run(None)
    rescored, versions, new_version = run(lexicon)
    again, _, _ = run(lexicon)

    assert new_version != old_version
    assert first.counts["articles_new"] == 82
    assert rescored.counts["articles_rescored"] == 82
    assert rescored.counts["articles_new"] == rescored.counts["articles_changed"] == 0
    assert rescored.counts["sentences_scored"] == first.counts["sentences_scored"]
    assert " 82 re-scored, " in rescored.line()
    assert rescored.task_runs > first.task_runs - 1 >= 4  # one analysis task per unit, several units
    assert all(found == [(new_version,)] for found in versions.values()), versions
    assert again.counts["articles_rescored"] == again.counts["sentences_scored"] == 0
    assert again.counts["articles_unchanged"] == 82
