"""One pipeline run at a time per DuckDB file: an advisory lock on ``<db>.lock`` beside it.

DuckDB lets one process write a file. Two runs that each open it only for short write
transactions could still interleave their batches, so a run holds this lock from start to
end, and a second run waits up to ``TONEWATCH_LOCK_TIMEOUT_SECONDS`` (default 30 s), then
stops with a ``StoreError`` naming the run that holds it. The lock is ``flock(2)`` on an open
file: the kernel drops it when the holder exits, even when killed, so a crash never leaves a
stale lock. Readers (``tonewatch query``, ``duckdb -readonly``) never take it.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from ..transforms.errors import StoreError
from .settings import DEFAULT_LOCK_TIMEOUT_SECONDS, LOCK_TIMEOUT_ENV_VAR

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: DuckDB's own file lock is the only guard
    fcntl = None  # type: ignore[assignment]

_POLL_SECONDS = 0.2
T = TypeVar("T")


def lock_path(db_path: Path) -> Path:
    """The lock file of a database: ``tonewatch.duckdb`` → ``tonewatch.duckdb.lock``."""
    return db_path.with_name(db_path.name + ".lock")


def lock_timeout_seconds() -> float:
    """How long a second run waits for the first: ``$TONEWATCH_LOCK_TIMEOUT_SECONDS`` or 30."""
    value = os.environ.get(LOCK_TIMEOUT_ENV_VAR)
    if not value:
        return DEFAULT_LOCK_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise StoreError(f"${LOCK_TIMEOUT_ENV_VAR}: expected a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise StoreError(f"${LOCK_TIMEOUT_ENV_VAR}: expected 0 or more seconds, got {value!r}")
    return seconds


class _Held:
    """A lock this thread holds, counted so the CLI and the flow it calls can both take it.

    Keyed by thread as well: another thread of the same process is another run, and its own
    ``flock`` on a second open file waits like any other process would.
    """

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.depth = 1


_held: dict[tuple[Path, int], _Held] = {}
_guard = threading.Lock()


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        return "another tonewatch run"
    return f"a tonewatch run (pid {info.get('pid', '?')}, started {info.get('started_at', '?')})"


@contextmanager
def run_lock(db_path: Path, *, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold the run lock of ``db_path``, waiting at most ``timeout_seconds`` for another run."""
    path = lock_path(Path(db_path)).resolve()
    key = (path, threading.get_ident())
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.depth += 1
    if held is not None:
        try:
            yield
        finally:
            _release(key)
        return
    if fcntl is None:  # pragma: no cover
        yield
        return
    wait = lock_timeout_seconds() if timeout_seconds is None else timeout_seconds
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while the lock is held
    except OSError as exc:  # a file where the folder should be, a read-only or full disk
        raise StoreError(f"{db_path}: cannot create the lock file {path}: {exc.strerror or exc}") from None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _holder(handle)
                handle.close()
                raise StoreError(
                    f"{db_path}: {holder} is writing to this database; waited {wait:g} s"
                    f" (${LOCK_TIMEOUT_ENV_VAR}); retry when it has finished"
                ) from None
            time.sleep(_POLL_SECONDS)
    handle.seek(0)
    handle.truncate()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    handle.write(json.dumps({"pid": os.getpid(), "started_at": started_at}))
    handle.flush()
    with _guard:
        _held[key] = _Held(handle)
    try:
        yield
    finally:
        _release(key)


def _release(key: tuple[Path, int]) -> None:
    with _guard:
        held = _held[key]
        held.depth -= 1
        if held.depth:
            return
        del _held[key]
    # Closing the file drops the flock; the file stays, empty, for the next run.
    held.handle.seek(0)
    held.handle.truncate()
    held.handle.close()


def exclusive_run(db_parameter: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a flow function so that it runs under the run lock of its ``db_parameter``."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            with run_lock(Path(bound.arguments[db_parameter])):
                return function(*args, **kwargs)

        return wrapper

    return decorate
