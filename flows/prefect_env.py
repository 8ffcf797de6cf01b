"""Prefect settings that make an ephemeral run quiet and complete; import before ``prefect``.

Measured on 2-core machines (../shared/notes/prefect-ephemeral.md): the temporary server's
first start can take over 20 s (the default limit), telemetry prints "database is locked"
errors, and task runs are lost unless the recorder flushes before the process exits.
``setdefault`` keeps any value the user set in their own environment.
"""

from __future__ import annotations

import os
import sys

CLEAN_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    # The interval is truncated to an int; below 1 it becomes a busy loop.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def configure(*, verbose: bool = False) -> None:
    """Apply the clean defaults; with ``verbose`` show Prefect's INFO logs."""
    if "prefect" in sys.modules and verbose:
        return
    for name, value in CLEAN_DEFAULTS.items():
        os.environ.setdefault(name, value)
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"


configure(verbose=os.environ.get("TONEWATCH_VERBOSE") == "1")
