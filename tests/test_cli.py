"""The command line as a user meets it: help, a clean demo, read-only queries, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tonewatch.flows.cli import app

COMMANDS = ("demo", "run", "ingest", "report", "query")
runner = CliRunner()


def tonewatch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script the way a user does, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "tonewatch.flows", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"^\W*{command}\b", result.output, re.MULTILINE), command


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_db_option(command):
    result = runner.invoke(app, [command, "-h"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "--db" in result.output


@pytest.fixture(scope="module")
def demo_twice(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return folder, tonewatch("demo", cwd=folder), tonewatch("demo", cwd=folder)


def test_demo_output_is_clean_one_line_summary(demo_twice):
    folder, first, _ = demo_twice
    assert first.returncode == 0, first.stderr
    output = first.stdout + first.stderr
    assert "ERROR" not in output and "Traceback" not in output, output
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 1, first.stdout
    assert re.search(r"\d+ articles \(\d+ new.*\d+ sentences, \d+ mentions, \d+ edges", lines[0])
    assert lines[0].endswith("report: reports/tonewatch.html")
    assert (folder / "tonewatch.duckdb").is_file()
    assert (folder / "reports" / "tonewatch.html").is_file()
    # and a dated copy of the same report beside it
    assert list((folder / "reports").glob("tonewatch-*Z.html"))


def test_second_demo_keeps_counts_and_scores_nothing(demo_twice):
    _, first, second = demo_twice
    assert second.returncode == 0, second.stderr
    counts = re.compile(r"(\d+) articles .*?(\d+) sentences, (\d+) mentions, (\d+) edges")
    assert counts.search(first.stdout).groups() == counts.search(second.stdout).groups()
    assert "(0 new, 0 changed, 0 re-scored," in second.stdout
    # A re-run has no task run and ends right after its flow's last state change: its
    # output is still the one summary line, with nothing from Prefect's workers.
    output = second.stdout + second.stderr
    assert not re.search(r"WARNING|ERROR|Traceback", output), output
    assert len(second.stdout.strip().splitlines()) == 1, second.stdout


def test_query_reads_with_bound_parameters(demo_twice):
    folder, *_ = demo_twice
    result = tonewatch(
        "query",
        "select count(*) as n from edges where source_bloc = ? and target_bloc = ?",
        "-p",
        "moscow",
        "-p",
        "kyiv",
        "--format",
        "csv",
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    header, value = result.stdout.strip().splitlines()
    assert header == "n" and int(value) > 0


def test_query_cannot_write(demo_twice):
    folder, *_ = demo_twice
    result = tonewatch("query", "delete from articles", cwd=folder)
    assert result.returncode == 1
    assert result.stderr.startswith("error: query failed:")
    assert "Traceback" not in result.stderr
    count = tonewatch("query", "select count(*) as n from articles", "--format", "csv", cwd=folder)
    assert int(count.stdout.split()[1]) > 0


def test_report_and_query_never_start_prefect(demo_twice):
    folder, *_ = demo_twice
    script = (
        "import sys\n"
        "from tonewatch.flows.cli import app\n"
        "for args in (['report', '--out', 'again.html'], ['query', 'select 1']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, exit.code\n"
        "print('prefect' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert (folder / "again.html").is_file()


def test_missing_database_is_one_line_error(tmp_path):
    result = runner.invoke(app, ["query", "select 1", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1
    assert "none.duckdb: no such database" in result.output


def test_run_rejects_a_missing_source_as_usage_error(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2
