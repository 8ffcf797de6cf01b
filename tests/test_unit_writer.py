"""How the flow holds the store file while it writes units: attached for a unit's write, then
detached (checkpointed, its lock released); with a hold, kept attached from unit to unit until
it has been attached that long."""

from __future__ import annotations

import subprocess
import sys
import time
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


def write_run(writer: UnitWriter) -> None:
    with writer.unit() as con, store.transaction(con):
        store.start_run(con, flow="test", scorer_version="v")


def test_each_unit_is_committed_and_the_file_released_for_readers(tmp_path):
    db = tmp_path / "nested" / "store.duckdb"
    with UnitWriter(db) as writer:
        write_run(writer)
        writer.wait()
        assert another_process_reads(db) == "1"
        write_run(writer)
        writer.wait()
        assert another_process_reads(db) == "2"
    assert not Path(f"{db}.wal").exists()  # checkpointed


def test_with_a_hold_the_file_stays_attached_until_it_has_been_attached_that_long(tmp_path):
    db = tmp_path / "store.duckdb"
    hold = 5.0  # far longer than a reader takes to start, even on a loaded machine
    with UnitWriter(db, hold_seconds=hold) as writer:
        write_run(writer)
        write_run(writer)
        writer.wait()
        assert another_process_reads(db) == "refused"  # kept for the next units
        time.sleep(hold)
        write_run(writer)  # attached for the hold or more: detached after this unit
        writer.wait()
        assert another_process_reads(db) == "3"
        write_run(writer)  # attached anew, so held again
        writer.wait()
        assert another_process_reads(db) == "refused"
    assert another_process_reads(db) == "4"  # detached at the end
    assert not Path(f"{db}.wal").exists()


def test_a_failed_write_rolls_back_and_releases_the_file(tmp_path):
    db = tmp_path / "store.duckdb"
    with UnitWriter(db) as writer:
        write_run(writer)
        with pytest.raises(RuntimeError), writer.unit() as con, store.transaction(con):
            store.start_run(con, flow="test", scorer_version="v")
            raise RuntimeError("the unit failed half way")
        assert another_process_reads(db) == "1"  # nothing of the failed unit, and not locked
        write_run(writer)  # the writer attaches the file again
        writer.wait()
    assert another_process_reads(db) == "2"


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    db = tmp_path / "store.duckdb"
    db.write_text("not a database", encoding="utf-8")
    with pytest.raises(StoreError, match=str(db)), UnitWriter(db) as writer:
        write_run(writer)
