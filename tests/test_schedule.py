"""`tonewatch serve`: options checked before serving, then a real schedule served and stopped.

The test server (``prefect_harness``) is Prefect's ephemeral server, which runs no scheduler
service; where ``prefect server start`` would create the deployment's next runs within seconds,
the test asks the server to do the same through the API (``POST /deployments/{id}/schedule``,
what the scheduler service calls), then watches the served process execute them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pytest
from typer.testing import CliRunner

from tonewatch.flows.cli import app
from tonewatch.flows.reporting import report_window_start
from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.errors import ConfigError

runner = CliRunner()
T = TypeVar("T")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "give exactly one of --cron"),
        (["--cron", "0 * * * *", "--interval", "60"], "give exactly one of --cron"),
        (["--cron", "0 * * *"], "--cron: expected five fields"),
        (["--cron", "61 * * * *"], "got '61 * * * *'"),
        (["--interval", "0.01"], "--interval: expected at least 1 seconds, got 0.01"),
        (["--interval", "60", "--since", "soon"], "expected a date like 2025-01-01 or a window like 90d"),
    ],
    ids=["no-schedule", "both", "four-fields", "minute-61", "tiny-interval", "bad-since"],
)
def test_bad_schedule_is_a_usage_error(options, message, tmp_path):
    result = runner.invoke(app, ["serve", str(SAMPLE_CORPUS), "--db", str(tmp_path / "t.duckdb"), *options])
    assert result.exit_code == 2
    assert message in " ".join(result.output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


@pytest.mark.parametrize(
    ("since", "start"),
    [
        (None, None),
        ("90d", datetime(2025, 3, 3, tzinfo=UTC)),
        ("0d", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-01-01", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T12:00:00+02:00", datetime(2025, 1, 1, 10, tzinfo=UTC)),
    ],
)
def test_report_window_start(since, start):
    assert report_window_start(since, now=datetime(2025, 6, 1, 17, 30, tzinfo=UTC)) == start


def test_missing_source_or_config_is_a_usage_error(tmp_path):
    missing = runner.invoke(app, ["serve", str(tmp_path / "nope.jsonl"), "--interval", "60"])
    nothing = runner.invoke(app, ["serve", "--interval", "60"])
    assert missing.exit_code == nothing.exit_code == 2
    assert "no such file or folder" in missing.output


def test_serving_without_a_prefect_server_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "tonewatch.flows", "serve", str(SAMPLE_CORPUS), "--interval", "60"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**env, "PREFECT_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: tonewatch serve needs a Prefect server to schedule its runs: start one with"
        " `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api\n"
    )


def test_parameters_are_checked_against_the_flow():
    from tonewatch.flows.serve import check_parameters

    with pytest.raises(ConfigError, match="the pipeline flow has no parameter 'colour'"):
        check_parameters({"sources": [], "colour": "red"})
    with pytest.raises(ConfigError, match="pipeline parameters: "):
        check_parameters({"sources": [], "batch_articles": "many"})
    assert check_parameters({"sources": ["a.jsonl"], "batch_articles": "20"})["batch_articles"] == 20


def wait_for(check: Callable[[], T | None], *, seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.5)


def test_served_deployment_runs_its_schedule_and_stops_cleanly(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(SAMPLE_CORPUS.read_text().splitlines(keepends=True)[:4]))
    db_path, report = tmp_path / "tonewatch.duckdb", tmp_path / "report.html"
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    command = [
        sys.executable, "-m", "tonewatch.flows", "serve", str(corpus), "--interval", "5",
        "--name", "test-schedule", "--db", str(db_path), "--report", str(report), "--since", "3650d",
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as served:
        try:
            with get_client(sync_client=True) as client:

                def deployment():
                    try:
                        return client.read_deployment_by_name("tonewatch-pipeline/test-schedule")
                    except Exception:  # not created yet
                        assert served.poll() is None, served.communicate()
                        return None

                found = wait_for(deployment, seconds=40, what="the deployment")
                assert found.parameters["db_path"] == str(db_path)
                assert found.parameters["report_since"] == "3650d"
                # What the scheduler service of `prefect server start` does by itself.
                client._client.post(f"/deployments/{found.id}/schedule", json={"min_runs": 2, "max_runs": 2})

                def completed_runs():
                    runs = client.read_flow_runs(
                        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id]))
                    )
                    done = [r for r in runs if r.state is not None and r.state.is_completed()]
                    return done if len(done) >= 2 else None

                runs = wait_for(completed_runs, seconds=50, what="two completed runs")
                served.send_signal(signal.SIGTERM)
                stdout, stderr = served.communicate(timeout=30)
                paused = client.read_deployment(found.id).paused
        finally:
            if served.poll() is None:
                served.kill()
                served.communicate()
    assert served.returncode == 0, stderr
    assert stdout.splitlines() == [
        f"serving tonewatch-pipeline/test-schedule every 5 s with {PREFECT_API_URL.value()}; Ctrl-C to stop",
        "stopped serving tonewatch-pipeline/test-schedule; its schedule is paused",
    ]
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
    assert paused
    assert len({r.id for r in runs}) >= 2
    with duckdb.connect(str(db_path), read_only=True) as con:
        stored = con.execute("select flow, status, articles_new from runs order by started_at").fetchall()
    assert stored[:2] == [("serve", "completed", 4), ("serve", "completed", 0)]
    assert report.is_file()


def test_prefect_yaml_deployments_load_and_validate():
    """What `prefect deploy --all` reads: module entrypoints, flow parameters, cron schedules."""
    import yaml
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.flows import load_flow_from_entrypoint

    from tonewatch.flows.serve import check_parameters

    repo = Path(__file__).resolve().parent.parent
    config = yaml.safe_load((repo / "prefect.yaml").read_text(encoding="utf-8"))
    names = [d["name"] for d in config["deployments"]]
    assert names == ["hourly", "sample"]
    for deployment in config["deployments"]:
        assert load_flow_from_entrypoint(deployment["entrypoint"]).name == "tonewatch-pipeline"
        check_parameters(deployment["parameters"])
        for schedule in deployment.get("schedules", []):
            CronSchedule(**schedule)
        for source in deployment["parameters"]["sources"]:
            assert (repo / source).is_file(), source


def test_serve_help_has_an_example_and_the_run_options():
    result = runner.invoke(app, ["serve", "-h"])
    assert result.exit_code == 0
    for option in ("Example:", "--db", "--cron", "--interval", "--since", "--workers", "--dask-address"):
        assert option in result.output, option
