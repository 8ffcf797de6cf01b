"""Run a flow so that it ends clean and complete: drained workers, every task run recorded.

Without this, an ephemeral Prefect server is stopped at exit before its task-run recorder
has flushed: task runs stay PENDING in the UI and shutdown prints CancelledError tracebacks.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker, PrefectConsoleHandler
from prefect.settings import get_current_settings, temporary_settings

from . import prefect_env  # noqa: F401  (sets Prefect's environment before it is imported)

RECORDING_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.1
# The API refuses task-run reads with a limit above 200.
_READ_LIMIT = 200

T = TypeVar("T")


def _wait_for_empty_queues(deadline: float) -> None:
    """Let each worker take what is queued before it is stopped: one stopped with items still
    queued sends them all the same, but logs a WARNING ("Still processing items"), as a run
    that ends right after its last state change (no task run at its end) often did."""
    for worker in (EventsWorker, APILogWorker):
        for instance in tuple(getattr(worker, "_instances", {}).values()):
            pending = getattr(instance, "_queue", None)
            while pending is not None and pending.qsize() and time.monotonic() < deadline:
                time.sleep(0.01)


def _drain_workers() -> None:
    _wait_for_empty_queues(time.monotonic() + RECORDING_WAIT_SECONDS)
    for worker in (EventsWorker, APILogWorker):
        result = worker.drain_all(timeout=RECORDING_WAIT_SECONDS)
        if inspect.isawaitable(result):  # pragma: no cover - only inside an event loop
            raise RuntimeError("run_flow_cleanly must be called outside an event loop")


def _wait_for_task_runs(flow_run_id: Any, expected: int) -> int:
    """Poll until ``expected`` task runs of the flow run are in a final state; returns that count."""
    deadline = time.monotonic() + RECORDING_WAIT_SECONDS
    finished = 0
    with get_client(sync_client=True) as client:
        while True:
            finished = 0
            offset = 0
            while True:
                runs = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    limit=_READ_LIMIT,
                    offset=offset,
                )
                finished += sum(1 for run in runs if run.state is not None and run.state.is_final())
                if len(runs) < _READ_LIMIT:
                    break
                offset += _READ_LIMIT
            if finished >= expected or time.monotonic() > deadline:
                return finished
            time.sleep(_POLL_SECONDS)


class _WithoutRunLogs(logging.Filter):
    """Keeps flow- and task-run records off the console; they still reach the Prefect API."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))


def quiet_run_logs() -> None:
    """Keep the console to one line: the CLI prints a failed run's ``TonewatchError`` itself,
    and any other exception still raises with its traceback."""
    for handler in logging.getLogger().handlers:
        is_filtered = any(isinstance(f, _WithoutRunLogs) for f in handler.filters)
        if isinstance(handler, PrefectConsoleHandler) and not is_filtered:
            handler.addFilter(_WithoutRunLogs())


def on_temporary_server() -> bool:
    """Whether runs go to the temporary server Prefect starts in this process (no
    PREFECT_API_URL), not to a long-lived one."""
    return get_current_settings().api.url is None


def heartbeats_watched() -> bool:
    """Whether a flow run's heartbeats can be of use: only a long-lived server (PREFECT_API_URL)
    outlives a crashed run to mark it crashed. The temporary server stops with the process."""
    return not on_temporary_server()


def run_flow_cleanly(
    flow_function: Callable[..., T],
    *,
    expected_task_runs: Callable[[T], int],
    heartbeats: bool | None = None,
    **parameters: Any,
) -> tuple[T, float]:
    """Call a flow, wait until the API has recorded its task runs, return (result, seconds waited).

    ``heartbeats`` (default: when ``heartbeats_watched``) keeps Prefect's flow-run heartbeat
    thread. Stopping that thread waits out its one-second sleep: a second of every run, half
    of a run that finds nothing new, for heartbeats that nobody would read.
    """
    if heartbeats is None:
        heartbeats = heartbeats_watched()
    updates = {} if heartbeats else {"flows.heartbeat_frequency": None}
    with temporary_settings(updates=updates):
        state = flow_function(**parameters, return_state=True)
    result = state.result()
    waited_from = time.perf_counter()
    _drain_workers()
    flow_run_id = state.state_details.flow_run_id
    if flow_run_id is not None:
        _wait_for_task_runs(flow_run_id, expected_task_runs(result))
    return result, time.perf_counter() - waited_from
