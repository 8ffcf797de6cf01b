"""A process pool for scoring, its workers forked from a process that imported the analysis.

Prefect's ProcessPoolTaskRunner spawns its workers: each imports Prefect and tonewatch
afresh (2.7 s of CPU on a 2-core machine), and each unit a worker scores pays Prefect's
task engine there (a new API client with its TLS context, every state change sent to the
server). On 2 cores that cost about 15 s of CPU per 10,000 articles, and two workers were
only 1.15 times as fast as one. Here a unit's Prefect task run stays in the flow's process,
on a thread that waits, and the worker only analyses. Workers are forked from Python's fork
server, which imports the analysis code once and runs none of the flow's threads (Prefect's,
DuckDB's, the checkpoint's): forking the flow's own process could copy a lock one of them
holds mid-use. The only threads the fork server has are ones its imports start and leave
idle: jemalloc's background threads (which register fork handlers) and Polars' cleaner.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from multiprocessing.context import BaseContext
from pathlib import Path

from ..transforms.records import RawArticle
from .config import scoring_context
from .ingest_config import IngestConfig
from .unit_analysis import UnitResult, analyze_unit_here
from .units import SourceFile

# Imported once by the fork server; what a worker needs beyond them it imports itself.
_PRELOADED = ["tonewatch.flows.unit_analysis"]
# How often a worker checks that the flow's process still runs.
ORPHAN_CHECK_SECONDS = 1.0


def _worker_start_method() -> BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOADED)
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows has no fork server


def _start_worker(flow_pid: int, actors_files: tuple[Path, ...], lexicon_file: Path | None) -> None:
    if os.name == "posix":  # on Windows os.kill(pid, 0) would terminate the process
        threading.Thread(
            target=_exit_when_orphaned, args=(flow_pid,), name="tonewatch-orphan-watch", daemon=True
        ).start()
    scoring_context(actors_files, lexicon_file)


def _exit_when_orphaned(flow_pid: int) -> None:
    """End this worker once the flow's process is gone (killed, say, by a deployment's time
    limit): a pool's workers wait on its queue, and keep the fork server alive, forever."""
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        try:
            os.kill(flow_pid, 0)
        except (ProcessLookupError, PermissionError):  # a PermissionError: the pid is reused
            os._exit(1)


class ScoringPool:
    """``workers`` processes that read, normalize and score units, each with the scoring
    context for ``actors_files`` and ``lexicon_file`` built as it starts, and each ending by
    itself if the flow's process dies."""

    def __init__(self, workers: int, actors_files: tuple[Path, ...], lexicon_file: Path | None) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_worker_start_method(),
            initializer=_start_worker,
            initargs=(os.getpid(), actors_files, lexicon_file),
        )
        self._actors_files = actors_files
        self._lexicon_file = lexicon_file

    def submit(
        self,
        files: tuple[SourceFile, ...],
        raw_articles: list[RawArticle],
        config: IngestConfig,
        fetch_pages: bool,
        fetched_at: datetime,
    ) -> Future[UnitResult]:
        """Analyse a unit in a worker."""
        return self._executor.submit(
            analyze_unit_here,
            files,
            raw_articles,
            config,
            fetch_pages,
            self._actors_files,
            self._lexicon_file,
            fetched_at,
        )

    def __enter__(self) -> ScoringPool:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        # A failed run does not wait for the units still queued.
        self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)
