"""Check that a Dask scheduler answers before a run sends it work, so a typo costs one line.

Without this, a wrong ``--dask-address`` surfaces after Prefect has started, as a 30-second
timeout and a traceback from deep inside ``distributed``.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from ..transforms.errors import ConfigError

DASK_CONNECT_TIMEOUT_SECONDS = 10


def _probe(address: str, timeout_seconds: float) -> None:
    """A plain TCP connect first: a refused connection fails now, not after the client's timeout."""
    parts = urlsplit(address)
    if parts.scheme == "tcp" and parts.hostname and parts.port:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_seconds):
            pass


def check_scheduler(address: str, *, timeout_seconds: float = DASK_CONNECT_TIMEOUT_SECONDS) -> int:
    """Connect to the scheduler at ``address`` and return how many workers it has."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            f"--dask-address {address}: dask.distributed is not installed (pip install 'tonewatch[dask]')"
        ) from None
    try:
        _probe(address, timeout_seconds)
        with Client(address, timeout=timeout_seconds, set_as_default=False) as client:
            workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    except (OSError, TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(
            f"--dask-address {address}: no Dask scheduler answered ({reason});"
            " start one with `dask scheduler` and workers with `dask worker ADDRESS`"
        ) from None
    # No workers yet is fine: an adaptive cluster starts them when work arrives.
    return workers
