"""A read-only DuckDB client that queries the store in a loop until a stop file appears.

Run as ``python reader_loop.py DB STOP_FILE``: one JSON line per attempt on stdout, either the
snapshot's counts or the error DuckDB gave. Anything unexpected ends it with a traceback, which
the test looks for. It stands for an analyst's ``duckdb -readonly`` session next to a run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

SNAPSHOT = """
select (select count(*) from articles) as articles,
       (select count(*) from sentences) as sentences,
       (select count(*) from sentences s anti join articles a using (article_id)) as orphan_sentences,
       (select count(*) from mentions m
            anti join sentences s using (article_id, sentence_idx)) as orphan_mentions,
       (select count(*) from edges e anti join sentences s using (article_id, sentence_idx)) as orphan_edges,
       (select count(*) from articles a where a.language = 'en'
            and a.article_id not in (select article_id from sentences)) as articles_without_sentences
"""
PAUSE_SECONDS = 0.25


def main(db: str, stop_file: str) -> None:
    stop = Path(stop_file)
    while True:
        last = stop.exists()
        started = time.monotonic()
        try:
            with duckdb.connect(db, read_only=True) as con:
                row = con.execute(SNAPSHOT).fetchone()
                names = [d[0] for d in con.description]
            outcome = {"ok": True, **dict(zip(names, row, strict=True))}
        except duckdb.IOException as exc:  # the file is locked by a writer: DuckDB's own message
            outcome = {"ok": False, "error": str(exc).splitlines()[0]}
        outcome["seconds"] = round(time.monotonic() - started, 3)
        print(json.dumps(outcome), flush=True)
        if last:
            return
        time.sleep(PAUSE_SECONDS)


if __name__ == "__main__":
    main(*sys.argv[1:3])
