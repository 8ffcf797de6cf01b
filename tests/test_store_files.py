"""How the store lays out its file: small row groups for cheap per-unit checkpoints, and a
file any DuckDB client opens as usual."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tonewatch.flows import store
from tonewatch.transforms.analyze import EDGE_COLUMNS, MENTION_COLUMNS, SENTENCE_COLUMNS, BatchRows
from tonewatch.transforms.records import Article

PUBLISHED = datetime(2025, 3, 1, tzinfo=UTC)


def _article(number: int) -> Article:
    return Article(
        article_id=f"a{number:05d}",
        url=f"https://example.org/{number}",
        outlet="example.org",
        outlet_home="https://example.org",
        published_at=PUBLISHED,
        title=f"Story {number}",
        text=f"Sentence one of story {number}. Sentence two of story {number}.",
        language="en",
        content_hash=f"h{number}",
        source="test",
    )


def _rows(articles: list[Article], sentences_each: int) -> BatchRows:
    sentences = [
        (a.article_id, index, 0, 10, f"Sentence {index} of {a.article_id}.", None, "none", 0.0, "v")
        for a in articles
        for index in range(sentences_each)
    ]
    return BatchRows(
        sentences=dict(zip(SENTENCE_COLUMNS, map(list, zip(*sentences, strict=True)), strict=True)),
        mentions={c: [] for c in MENTION_COLUMNS},
        edges={c: [] for c in EDGE_COLUMNS},
    )


def _largest_row_group(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(
        "select max(count) from (select row_group_id, max(start + count) - min(start) as count"
        f" from pragma_storage_info('{table}') group by row_group_id)"
    ).fetchone()[0]


def test_units_are_written_in_small_row_groups_and_the_file_opens_in_any_client(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    for unit in range(3):  # three units, each closed (checkpointed) as the flow does
        articles = [_article(unit * 1000 + n) for n in range(1000)]
        with store.open_store(db) as con:
            store.write_batch(con, articles, _rows(articles, 10), scorer_version="v")
    assert not (tmp_path / "t.duckdb.wal").exists()  # closing checkpointed every unit
    with duckdb.connect(str(db), read_only=True) as con:  # as an analyst opens it
        assert con.execute("select count(*) from articles").fetchone()[0] == 3000
        assert con.execute("select count(*) from sentences").fetchone()[0] == 30_000
        # A unit's 10,000 sentences are more than one row group.
        assert _largest_row_group(con, "sentences") <= store.WRITE_ROW_GROUP_ROWS < 10_000
