"""run_flow_cleanly: flow-run heartbeats only where a long-lived server can read them."""

from __future__ import annotations

import threading

import pytest
from prefect import flow
from prefect.settings import get_current_settings, temporary_settings

from tonewatch.flows.orchestration import heartbeats_watched, run_flow_cleanly


def _is_heartbeat_thread(thread: threading.Thread) -> bool:
    # Prefect starts it as Thread(target=context.run, args=(heartbeat_loop,)).
    return any(getattr(arg, "__name__", "") == "heartbeat_loop" for arg in getattr(thread, "_args", ()))


@flow(name="tonewatch-test-heartbeat-probe")
def heartbeat_probe() -> tuple[int | None, bool]:
    """The heartbeat interval the run sees, and whether a heartbeat thread runs in it."""
    beating = any(_is_heartbeat_thread(thread) for thread in threading.enumerate())
    return get_current_settings().flows.heartbeat_frequency, beating


def test_only_a_server_at_an_api_url_watches_heartbeats(prefect_harness: None) -> None:
    assert heartbeats_watched()  # the harness is a server with a URL
    with temporary_settings(updates={"api.url": None}):
        assert not heartbeats_watched()


@pytest.mark.parametrize("heartbeats", [True, False])
def test_a_run_has_heartbeats_only_when_asked(prefect_harness: None, heartbeats: bool) -> None:
    (frequency, _), _ = run_flow_cleanly(
        heartbeat_probe, expected_task_runs=lambda _: 0, heartbeats=heartbeats
    )
    assert (frequency is not None) is heartbeats
    # The setting is the run's: the process's own is left as it was.
    assert get_current_settings().flows.heartbeat_frequency is not None


@pytest.mark.parametrize("heartbeats", [True, False])
def test_a_heartbeat_thread_runs_only_with_heartbeats(prefect_harness: None, heartbeats: bool) -> None:
    # Stopping that thread waits out its one-second sleep: what leaving it out saves.
    (_, beating), _ = run_flow_cleanly(heartbeat_probe, expected_task_runs=lambda _: 0, heartbeats=heartbeats)
    assert beating is heartbeats
