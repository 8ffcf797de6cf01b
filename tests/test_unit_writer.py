"""How the flow holds the store file while it writes units: attached for a unit's write, then
detached (checkpointed, its lock released), kept attached only while the next unit waits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tonewatch.flows import store
from tonewatch.flows.pipeline import UnitWriter
from tonewatch.transforms.errors import StoreError

READ_COUNT = """
import sys, duckdb
try:
    con = duckdb.connect(sys.argv[1], read_only=True)
except duckdb.IOException as exc:
    print("refused" if "lock" in str(exc).lower() else exc)
else:
    print(con.execute("select count(*) from runs").fetchone()[0])
"""


def another_process_reads(db: Path) -> str:
    """What a separate reader gets: the number of runs stored, or "refused" (file locked)."""
    command = [sys.executable, "-c", READ_COUNT, str(db)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def write_run(writer: UnitWriter, *, next_is_waiting: bool) -> None:
    with writer.unit(next_is_waiting=next_is_waiting) as con, store.transaction(con):
        store.start_run(con, flow="test", scorer_version="v")


def test_each_unit_is_committed_and_the_file_released_for_readers(tmp_path):
    db = tmp_path / "nested" / "store.duckdb"
    with UnitWriter(db) as writer:
        write_run(writer, next_is_waiting=False)
        writer.wait()
        assert another_process_reads(db) == "1"
        write_run(writer, next_is_waiting=False)
        writer.wait()
        assert another_process_reads(db) == "2"
    assert not Path(f"{db}.wal").exists()  # checkpointed


def test_the_file_stays_attached_only_while_units_wait_and_at_most_four_in_a_row(tmp_path):
    db = tmp_path / "store.duckdb"
    with UnitWriter(db) as writer:
        for _ in range(UnitWriter.MAX_UNITS_ATTACHED - 1):
            write_run(writer, next_is_waiting=True)
            writer.wait()
            assert another_process_reads(db) == "refused"
        write_run(writer, next_is_waiting=True)  # the fourth in a row: detached all the same
        writer.wait()
        assert another_process_reads(db) == str(UnitWriter.MAX_UNITS_ATTACHED)
        write_run(writer, next_is_waiting=True)
        writer.wait()
        assert another_process_reads(db) == "refused"
    assert another_process_reads(db) == str(UnitWriter.MAX_UNITS_ATTACHED + 1)  # detached at the end


def test_a_failed_write_rolls_back_and_releases_the_file(tmp_path):
    db = tmp_path / "store.duckdb"
    with UnitWriter(db) as writer:
        write_run(writer, next_is_waiting=False)
        with pytest.raises(RuntimeError), writer.unit(next_is_waiting=True) as con, store.transaction(con):
            store.start_run(con, flow="test", scorer_version="v")
            raise RuntimeError("the unit failed half way")
        assert another_process_reads(db) == "1"  # nothing of the failed unit, and not locked
        write_run(writer, next_is_waiting=False)  # the writer attaches the file again
        writer.wait()
    assert another_process_reads(db) == "2"


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    db = tmp_path / "store.duckdb"
    db.write_text("not a database", encoding="utf-8")
    with pytest.raises(StoreError, match=str(db)), UnitWriter(db) as writer:
        write_run(writer, next_is_waiting=False)
