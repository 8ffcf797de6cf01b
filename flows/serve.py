"""``tonewatch serve``: the pipeline flow as a scheduled Prefect deployment, served by this process.

Prefect's scheduler is a service of its server (``prefect server start``): the temporary
server a lone flow run starts never creates scheduled runs, so serving needs ``PREFECT_API_URL``.
Each scheduled run executes in a subprocess; ``limit=1`` keeps runs of this deployment from
overlapping (the run lock would make a second one wait anyway). SIGTERM or Ctrl-C stops serving
and pauses the schedule, so the server does not pile up runs nobody will execute.
"""

from __future__ import annotations

from typing import Any

from ..transforms.errors import ConfigError

DEFAULT_DEPLOYMENT_NAME = "tonewatch"
# A shorter interval than this is a typo (milliseconds?), not a schedule.
MIN_INTERVAL_SECONDS = 1.0


class ScheduleError(ValueError):
    """A schedule option (--cron, --interval) is malformed; the CLI reports it as bad usage."""


def build_schedule(*, cron: str | None, interval_seconds: float | None) -> dict[str, Any]:
    """The ``flow.serve`` keyword for exactly one of ``cron`` and ``interval_seconds``, checked."""
    if (cron is None) == (interval_seconds is None):
        raise ScheduleError('give exactly one of --cron "0 * * * *" and --interval SECONDS')
    if interval_seconds is not None:
        if interval_seconds < MIN_INTERVAL_SECONDS:
            raise ScheduleError(
                f"--interval: expected at least {MIN_INTERVAL_SECONDS:g} seconds, got {interval_seconds:g}"
            )
        return {"interval": interval_seconds}
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError:
        raise ScheduleError(
            '--cron: expected five fields "minute hour day month weekday" (UTC),'
            f' e.g. "0 * * * *", got {cron!r}'
        ) from None
    return {"cron": cron}


def scheduling_server_url() -> str:
    """The Prefect API that will schedule the runs; a ``ConfigError`` when there is none."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "tonewatch serve needs a Prefect server to schedule its runs: start one with"
            " `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    return str(url)


def check_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """The pipeline flow's own parameter validation, before anything is served."""
    from prefect.exceptions import ParameterTypeError

    from .pipeline import pipeline_flow

    unknown = sorted(set(parameters) - set(pipeline_flow.parameters.properties))
    if unknown:
        raise ConfigError(f"the pipeline flow has no parameter {', '.join(map(repr, unknown))}")
    try:
        return pipeline_flow.validate_parameters(parameters)
    except ParameterTypeError as error:
        raise ConfigError(f"pipeline parameters: {str(error).splitlines()[0]}") from None


def serve_pipeline(
    parameters: dict[str, Any], *, name: str, schedule: dict[str, Any], verbose: bool = False
) -> None:
    """Create (or update) the deployment ``tonewatch-pipeline/<name>`` and run its schedule until stopped."""
    from prefect.deployments.runner import EntrypointType

    from .pipeline import pipeline_flow

    pipeline_flow.serve(
        name=name,
        parameters=parameters,
        description="Ingest, score and store the sources, then refresh the report.",
        tags=["tonewatch"],
        limit=1,
        pause_on_shutdown=True,
        print_starting_message=verbose,
        # The installed module, not this file's path: runs import it the way the CLI does.
        entrypoint_type=EntrypointType.MODULE_PATH,
        **schedule,
    )
