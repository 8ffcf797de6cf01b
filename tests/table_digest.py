"""Digests of what a pipeline run stores, to prove that a speed-up changed no output.

    python tests/table_digest.py --write     # record tests/data/golden_tables.json

Runs the real flow on the sample corpus plus a generated benchmark corpus (deterministic
by seed) and digests every row of the tables that hold results, in a canonical order,
leaving out what differs between two identical runs (timestamps, run ids) and the scorer
version (a hash that names the rules, not their output). The views are SQL over these
tables, so they follow. Regenerate the file only when a
change is meant to change results, and say so in the commit message.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "data" / "golden_tables.json"
BENCHMARK_ARTICLES = 240
BENCHMARK_SEED = 7

# An undated article is dated when it is read, and a source names a file by its full path.
_UNDATED = "select article_id from articles where is_undated"
_DATE = f"case when article_id in ({_UNDATED}) then null else published_at end"
_FILE = "regexp_extract(source, '[^/]*$')"
# table: (columns digested, order); every column that a result depends on.
DIGESTED = {
    "articles": (
        f"article_id, url, outlet, outlet_home, {_DATE}, title, text, language, content_hash,"
        f" dup_of, {_FILE}, is_sample, author, is_summary, is_undated",
        "article_id",
    ),
    "sentences": (
        'article_id, sentence_idx, start, "end", text, speaker_actor, attribution, compound',
        "article_id, sentence_idx",
    ),
    "mentions": (
        'article_id, sentence_idx, mention_idx, actor_id, start, "end", surface, target_score',
        "article_id, sentence_idx, mention_idx",
    ),
    "edges": (
        f"article_id, sentence_idx, {_DATE}, source_actor, source_bloc, target_actor,"
        " target_bloc, score, method",
        "article_id, sentence_idx, source_actor, target_actor",
    ),
    "near_duplicates": ("article_id, other_id, jaccard", "article_id, other_id"),
    "article_bands": ("article_id, bucket", "article_id, bucket"),
    "article_signatures": ("article_id, signature", "article_id"),
    "article_urls": ("url, article_id", "url"),
}


def table_digests(db_path: Path) -> dict[str, dict[str, object]]:
    """Per table: its row count and a SHA-256 over its rows in canonical order."""
    digests: dict[str, dict[str, object]] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table, (columns, order) in DIGESTED.items():
            rows = con.execute(f"select {columns} from {table} order by {order}").fetchall()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(row).encode())
                digest.update(b"\n")
            digests[table] = {"rows": len(rows), "sha256": digest.hexdigest()}
    return digests


def golden_sources(folder: Path) -> list[Path]:
    """The sample corpus, the ingest tests' files (feeds, exports, syndicated copies) and a
    generated benchmark corpus written under ``folder``."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from corpus import generate_corpus

    from tonewatch.flows.settings import SAMPLE_CORPUS

    return [
        SAMPLE_CORPUS,
        REPO / "tests" / "data" / "ingest",
        generate_corpus(folder / "corpus", BENCHMARK_ARTICLES, seed=BENCHMARK_SEED),
    ]


def run_and_digest(folder: Path, *, workers: int = 1) -> dict[str, dict[str, object]]:
    """Run the pipeline flow on the golden sources into a fresh store under ``folder``, with
    ``workers`` scoring processes (1: in the run's own process)."""
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    db_path = folder / "golden.duckdb"
    run_flow_cleanly(
        pipeline_flow,
        expected_task_runs=lambda s: s.task_runs,
        sources=[str(s) for s in golden_sources(folder)],
        db_path=str(db_path),
        report_path=None,
        fetch_pages=False,  # saved feeds link to pages on hosts a test never contacts
        batch_articles=100,  # several units, so unit boundaries are part of what is compared
        workers=workers,
    )
    return table_digests(db_path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help=f"write {GOLDEN.relative_to(REPO)}")
    args = parser.parse_args()
    from tonewatch.flows import prefect_env  # noqa: F401  (before prefect)

    with tempfile.TemporaryDirectory(prefix="tonewatch-golden-") as folder:
        digests = run_and_digest(Path(folder))
    text = json.dumps(digests, indent=2, sort_keys=True) + "\n"
    if args.write:
        GOLDEN.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
