"""Speed-ups change no output: every stored row is what the recorded run stored.

``tests/data/golden_tables.json`` holds digests of the tables after a run of the real flow
on the sample corpus, the ingest tests' files and a generated benchmark corpus, recorded
before the throughput work (issue 7) with the code as it was then. A change meant to change
results regenerates it (``python tests/table_digest.py --write``) and says so.
"""

from __future__ import annotations

import json

import pytest
from table_digest import GOLDEN, run_and_digest


# Two workers: units are read and scored in the scoring pool's processes, pickled back and
# stored while the next ones are scored; what is stored must be the same.
@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "two-worker-processes"])
def test_every_table_matches_the_recorded_run(prefect_harness, tmp_path, workers):
    expected = json.loads(GOLDEN.read_text())
    actual = run_and_digest(tmp_path, workers=workers)
    changed = {
        table: {"recorded": expected[table], "now": actual.get(table)}
        for table in expected
        if actual.get(table) != expected[table]
    }
    assert not changed, f"tables differ from the recorded run: {json.dumps(changed, indent=2)}"
