"""Disk and resource faults: a database folder that cannot be written, a full disk, a report path
that cannot be written. Each must end the command with one clear line and a non-zero exit, and
leave the store as it was (every data row; a failed run may leave its own 'running' row, as a
killed one does), so that the next run, with the fault gone, completes the work.

These tests run as root in CI, where permissions stop nothing: a folder is made unwritable with a
read-only bind mount (when this machine allows mounting), a disk full with a small tmpfs (likewise)
or, everywhere, with a file size limit (RLIMIT_FSIZE) on the tonewatch process.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal
from reliability_support import (
    Finished,
    copy_store,
    has_traceback,
    run_args,
    run_tonewatch,
    store_problems,
    store_rows,
    tonewatch_command,
)

DATA_TABLES = ("articles", "sentences", "mentions", "edges", "article_bands", "near_duplicates")


def assert_one_clear_line(done: Finished, *words: str) -> None:
    assert done.returncode != 0, done
    assert not has_traceback(done.stderr) and done.stderr.count("\n") == 1, done
    assert done.stderr.startswith("error: "), done
    for word in words:
        assert word in done.stderr, done


def assert_data_unchanged(db: Path, before: dict) -> None:
    assert store_problems(db) == {}
    after = store_rows(db)
    for table in DATA_TABLES:
        assert_frame_equal(after[table], before[table], check_exact=True)


def mounting_is_allowed() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path("/proc/self/status").read_text()
    effective = next(int(line.split()[1], 16) for line in probe.splitlines() if line.startswith("CapEff:"))
    return bool(effective & (1 << 21))  # CAP_SYS_ADMIN


@contextmanager
def mounted(*commands: list[str], target: Path) -> Iterator[None]:
    """Run mount ``commands`` on ``target``, unmount them all afterwards; skip where not allowed."""
    if not mounting_is_allowed():
        pytest.skip(
            "mounting needs root with CAP_SYS_ADMIN; the RLIMIT_FSIZE and file-as-folder tests still run"
        )
    done = 0
    try:
        for command in commands:
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"{' '.join(command)}: {result.stderr.strip()}")
            done += 1
        yield
    finally:
        for _ in range(done):
            subprocess.run(["umount", str(target)], capture_output=True)


# --- a database folder that cannot be written ----------------------------------------------


def test_a_database_under_a_file_is_a_clear_error(prefect_server, corpus, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder is expected\n")
    db = blocker / "store.duckdb"
    done = run_tonewatch(
        *run_args(corpus, db, tmp_path / "report.html"), env=prefect_server.env(), cwd=tmp_path
    )
    assert_one_clear_line(done, str(blocker))
    assert blocker.read_text() == "a file where a folder is expected\n"
    assert not (tmp_path / "report.html").exists()


def test_a_read_only_database_folder_is_a_clear_error_and_still_readable(
    prefect_server, corpus, first_third, tmp_path
):
    folder = tmp_path / "readonly"
    db = copy_store(first_third, folder)
    before = store_rows(db)
    with mounted(["mount", "--bind", str(folder), str(folder)],
                 ["mount", "-o", "remount,bind,ro", str(folder)], target=folder):  # fmt: skip
        done = run_tonewatch(
            *run_args(corpus, db, tmp_path / "report.html"), env=prefect_server.env(), cwd=tmp_path
        )
        assert_one_clear_line(done, str(db))
        # An analyst can still read it.
        query = run_tonewatch("query", "select count(*) as n from articles", "--db", db, "--format", "csv",
                              env=prefect_server.env(), cwd=tmp_path)  # fmt: skip
        assert query.returncode == 0 and query.stdout.splitlines()[1] == str(before["articles"].height), query
    assert_data_unchanged(db, before)


# --- a full disk -----------------------------------------------------------------------------


def limited_run(
    corpus: Path, db: Path, report: Path, *, env: dict, cwd: Path, file_size_limit: int
) -> Finished:
    """``tonewatch run`` in a process that cannot write past ``file_size_limit`` bytes of any file."""
    import time

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    started = time.monotonic()
    done = subprocess.run(
        tonewatch_command(*run_args(corpus, db, report)), env=env, cwd=cwd, capture_output=True, text=True,
        timeout=180, preexec_fn=limit,
    )  # fmt: skip
    return Finished(
        run_args(corpus, db, report), done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )


def test_a_full_disk_stops_the_run_clearly_and_the_next_run_completes(
    prefect_server, corpus, first_third, reference, tmp_path, figures
):
    db = copy_store(first_third, tmp_path / "full")
    before = store_rows(db)
    # A write past 256 KiB into any file fails with EFBIG, as a full disk fails with ENOSPC.
    done = limited_run(corpus, db, tmp_path / "full" / "report.html", env=prefect_server.env(), cwd=tmp_path,
                       file_size_limit=256 * 1024)  # fmt: skip
    assert_one_clear_line(done, str(db))
    assert_data_unchanged(db, before)
    again = run_tonewatch(
        *run_args(corpus, db, tmp_path / "report.html"), env=prefect_server.env(), cwd=tmp_path
    )
    assert again.returncode == 0 and again.stderr == "", again
    rows = store_rows(db)
    for table in DATA_TABLES:
        assert_frame_equal(rows[table], reference.rows[table], check_exact=True)
    figures["disk faults"] += 1


def test_a_full_tmpfs_stops_the_run_clearly(prefect_server, corpus, first_third, tmp_path, figures):
    folder = tmp_path / "small-disk"
    folder.mkdir()
    size = first_third.stat().st_size + 512 * 1024
    with mounted(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], target=folder):
        db = copy_store(first_third, folder)
        before = store_rows(db)
        done = run_tonewatch(
            *run_args(corpus, db, folder / "report.html"), env=prefect_server.env(), cwd=tmp_path
        )
        assert_one_clear_line(done, str(db))
        assert_data_unchanged(db, before)
    figures["disk faults"] += 1


# --- a report path that cannot be written ----------------------------------------------------


def test_an_unwritable_report_path_stops_the_run_before_it_changes_the_store(
    prefect_server, corpus, first_third, tmp_path
):
    db = copy_store(first_third, tmp_path / "store")
    before = store_rows(db)
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the report folder should be\n")
    done = run_tonewatch(
        *run_args(corpus, db, blocker / "latest.html"), env=prefect_server.env(), cwd=tmp_path
    )
    assert_one_clear_line(done, str(blocker))
    assert_data_unchanged(db, before)


def test_report_command_with_an_unwritable_path_is_a_clear_error(prefect_server, first_third, tmp_path):
    before = store_rows(first_third)
    blocker = tmp_path / "reports"
    blocker.write_text("x\n")
    done = run_tonewatch("report", "--db", first_third, "--out", blocker / "latest.html",
                         env=prefect_server.env(), cwd=tmp_path)  # fmt: skip
    assert_one_clear_line(done, str(blocker))
    assert_data_unchanged(first_third, before)


def test_export_into_an_unwritable_place_is_a_clear_error(prefect_server, first_third, tmp_path):
    blocker = tmp_path / "exports"
    blocker.write_text("x\n")
    done = run_tonewatch("export", "--db", first_third, "--parquet", blocker / "snapshot",
                         env=prefect_server.env(), cwd=tmp_path)  # fmt: skip
    assert_one_clear_line(done, str(blocker))
