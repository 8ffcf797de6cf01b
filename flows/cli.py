"""The ``tonewatch`` command line: thin wrappers that parse, call a flow or the store, print.

Commands that are not pipeline runs (report, query) never import Prefect.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ..transforms.errors import TonewatchError
from . import prefect_env
from .settings import DEFAULT_REPORT_PATH, DEMO_REPORT_PATH, SAMPLE_CORPUS, default_db_path

app = typer.Typer(
    name="tonewatch",
    help="Track the tone between Washington, Moscow and Kyiv in the news, over time.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        help="DuckDB file (default ./tonewatch.duckdb or $TONEWATCH_DB).",
        default_factory=default_db_path,
        show_default=False,
    ),
]
ReportOption = Annotated[Path, typer.Option("--report", help="Where to write the HTML report.")]
ActorsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--actors",
        help="Extra actor registry TOML merged over the default (repeatable).",
        exists=True,
        dir_okay=False,
    ),
]
LexiconOption = Annotated[
    Path | None,
    typer.Option(
        "--lexicon",
        help="Lexicon additions TOML merged over the default.",
        exists=True,
        dir_okay=False,
    ),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect logs and timings.")]
ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        help='tonewatch.toml with sources, outlets and fetch limits; "default" is the shipped feed list.',
    ),
]
NoFetchOption = Annotated[
    bool,
    typer.Option("--no-fetch", help="Never fetch article pages: store feed entries' own text or summary."),
]
FieldMapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="JSON/CSV field mapping FIELD=COLUMN, e.g. text=body (repeatable)."),
]


def _check_dask_address(value: str | None) -> str | None:
    """A Dask scheduler address, e.g. tcp://10.0.0.5:8786; prefect-dask must be installed."""
    if value is None:
        return None
    import importlib.util
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ucx", "ws", "wss") or not parts.hostname or port is None:
        raise typer.BadParameter(f"expected a scheduler address like tcp://10.0.0.5:8786, got {value!r}")
    if importlib.util.find_spec("prefect_dask") is None:
        raise typer.BadParameter("prefect-dask is not installed: pip install 'tonewatch[dask]'")
    return value


def _check_since(value: str | None) -> str | None:
    from .reporting import report_window_start

    try:
        report_window_start(value, now=datetime.now(UTC))
    except ValueError as error:
        raise typer.BadParameter(str(error).removeprefix("--since: ")) from None
    return value


SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="First day the report covers: a date (2025-01-01) or days before each run (90d).",
        callback=_check_since,
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Scoring processes (default: one per core when there is more than one unit of work;"
        " 1: in this process). With --dask-address: units in flight.",
        show_default=False,
    ),
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Score on the Dask cluster whose scheduler is here, e.g. tcp://10.0.0.5:8786.",
        callback=_check_dask_address,
    ),
]


def _fail(error: TonewatchError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=1)


def _pipeline_parameters(
    sources: list[Path] | list[str],
    db: Path,
    report: Path,
    actors: list[Path] | None,
    lexicon: Path | None,
    *,
    label: str,
    config: str | None = None,
    fetch_pages: bool = True,
    field_map: list[str] | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    since: str | None = None,
) -> dict[str, Any]:
    """The pipeline flow's parameters, JSON-ready (a deployment stores them)."""
    return {
        "sources": [str(s) for s in sources],
        "db_path": str(db),
        "report_path": str(report),
        "actors_files": [str(a) for a in actors or []],
        "lexicon_file": str(lexicon) if lexicon else None,
        "flow_label": label,
        "config_file": config,
        "fetch_pages": fetch_pages,
        "field_map": field_map or [],
        "workers": workers,
        "dask_address": dask_address,
        "report_since": since,
    }


def _run_pipeline(parameters: dict[str, Any], *, verbose: bool) -> None:
    """Run the pipeline flow with ``parameters`` (from ``_pipeline_parameters``) and print its line."""
    from .locking import run_lock

    prefect_env.configure(verbose=verbose)
    started = time.perf_counter()
    db, report, dask_address = (
        Path(parameters["db_path"]),
        Path(parameters["report_path"]),
        parameters["dask_address"],
    )
    try:
        from .reporting import check_report_path

        # Before anything is stored: a run that could not write its report changes nothing.
        check_report_path(report)
        if dask_address:
            from .cluster import check_scheduler

            check_scheduler(dask_address)
        # Taken before Prefect starts, so a second run on the same file waits or gives up in
        # seconds; the flow takes the same lock again (re-entrant) for deployment runs.
        with run_lock(db):
            from .orchestration import quiet_run_logs, run_flow_cleanly
            from .pipeline import pipeline_flow

            if not verbose:
                quiet_run_logs()

            imported = time.perf_counter()
            summary, waited = run_flow_cleanly(
                pipeline_flow, expected_task_runs=lambda s: s.task_runs, **parameters
            )
    except TonewatchError as error:
        raise _fail(error) from None
    total = time.perf_counter() - started
    if verbose:
        work = sum(summary.stage_seconds.values())
        stages = ", ".join(f"{k} {v:.2f}" for k, v in summary.stage_seconds.items())
        typer.echo(f"stages (s): {stages}", err=True)
        typer.echo(
            f"orchestration: {total - work:.1f} s of {total:.1f} s (import {imported - started:.1f} s,"
            f" flow overhead {summary.seconds - work:.1f} s, recording wait {waited:.1f} s)",
            err=True,
        )
    typer.echo(summary.line())


@app.command()
def demo(
    db: DbOption,
    report: ReportOption = DEMO_REPORT_PATH,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Ingest the bundled sample corpus, score it, store it and write the report.

    Example: tonewatch demo
    """
    _run_pipeline(
        _pipeline_parameters(
            [SAMPLE_CORPUS], db, report, None, None, label="demo", workers=workers, dask_address=dask_address
        ),
        verbose=verbose,
    )


def _check_sources(values: list[str] | None) -> list[str]:
    """A source is a URL (checked when read: anything but http/https becomes a reject) or a path."""
    from .ingest_config import is_url

    for value in values or []:
        if not is_url(value) and not Path(value).expanduser().exists():
            raise typer.BadParameter(f"no such file or folder: {value!r}", param_hint="SOURCE")
    return values or []


SourcesArgument = Annotated[
    list[str],
    typer.Argument(
        help="Feed or page URLs (http/https), files or folders (read recursively).",
        callback=_check_sources,
        show_default=False,
    ),
]


@app.command()
def run(
    sources: SourcesArgument,
    db: DbOption,
    report: ReportOption = DEFAULT_REPORT_PATH,
    actors: ActorsOption = None,
    lexicon: LexiconOption = None,
    since: SinceOption = None,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Ingest, score and store articles from URLs, files and folders, then write the report.

    The same as `tonewatch ingest` without a config: feeds and article pages by URL,
    saved articles (.txt, .md), HTML, JSON, JSON lines, CSV and saved feeds, folders recursively.

    Example: tonewatch run ~/saved-articles feeds.jsonl --db tone.duckdb
    """
    _run_pipeline(
        _pipeline_parameters(
            sources,
            db,
            report,
            actors,
            lexicon,
            label="run",
            workers=workers,
            dask_address=dask_address,
            since=since,
        ),  # fmt: skip
        verbose=verbose,
    )


@app.command()
def ingest(
    db: DbOption,
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Feed or page URLs (http/https), files or folders (read recursively).",
            callback=_check_sources,
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    no_fetch: NoFetchOption = False,
    field_map: FieldMapOption = None,
    report: ReportOption = DEFAULT_REPORT_PATH,
    actors: ActorsOption = None,
    lexicon: LexiconOption = None,
    since: SinceOption = None,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Ingest feeds, article pages and files incrementally; score, store, write the report.

    Summary-only feed entries get their page fetched (not with --no-fetch).
    Known links, unchanged feeds (ETag) and unchanged articles cost nothing next run.
    Unusable inputs go to the rejects table, counted by reason in the summary.

    Example: tonewatch ingest https://tass.com/rss/v2.xml ~/saved --config tonewatch.toml
    """
    from .ingest_config import load_config, parse_field_map

    try:
        parse_field_map(field_map or [])
    except TonewatchError as error:
        raise typer.BadParameter(str(error).removeprefix("--map: "), param_hint="--map") from None
    if not sources and config is None:
        raise typer.BadParameter(
            "give at least one SOURCE, or --config FILE (--config default: the shipped feed list)",
            param_hint="SOURCE",
        )
    try:
        load_config(config)
    except TonewatchError as error:
        raise _fail(error) from None
    _run_pipeline(
        _pipeline_parameters(
            sources or [],
            db,
            report,
            actors,
            lexicon,
            label="ingest",
            workers=workers,
            dask_address=dask_address,
            since=since,
            config=config,
            fetch_pages=not no_fetch,
            field_map=field_map,
        ),
        verbose=verbose,
    )


def _absolute(value: str) -> str:
    """A path source made absolute (a deployment's runs need not start in this folder); URLs kept."""
    from .ingest_config import is_url

    return value if is_url(value) else str(Path(value).expanduser().resolve())


@app.command()
def serve(
    db: DbOption,
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Feed or page URLs (http/https), files or folders (read recursively).",
            callback=_check_sources,
            show_default=False,
        ),
    ] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help='Cron schedule in UTC, e.g. "0 * * * *" (hourly).')
    ] = None,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Seconds between runs (instead of --cron).")
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Deployment name: tonewatch-pipeline/NAME.")
    ] = "tonewatch",
    config: ConfigOption = None,
    no_fetch: NoFetchOption = False,
    field_map: FieldMapOption = None,
    report: ReportOption = DEFAULT_REPORT_PATH,
    actors: ActorsOption = None,
    lexicon: LexiconOption = None,
    since: SinceOption = None,
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run the pipeline on a schedule: a Prefect deployment served until Ctrl-C.

    Needs a Prefect server (`prefect server start`, PREFECT_API_URL set):
    its scheduler creates the runs, this process executes them, one at a time.
    Takes the sources and options of `tonewatch ingest`, checked before serving.

    Example: tonewatch serve --cron "0 * * * *" --config tonewatch.toml --db /data/tone.duckdb
    """
    from .ingest_config import load_config, parse_field_map
    from .serve import ScheduleError, build_schedule

    try:
        parse_field_map(field_map or [])
    except TonewatchError as error:
        raise typer.BadParameter(str(error).removeprefix("--map: "), param_hint="--map") from None
    if not sources and config is None:
        raise typer.BadParameter(
            "give at least one SOURCE, or --config FILE (--config default: the shipped feed list)",
            param_hint="SOURCE",
        )
    if config not in (None, "default"):
        config = str(Path(config).expanduser().resolve())
    prefect_env.configure(verbose=verbose)
    try:
        schedule = build_schedule(cron=cron, interval_seconds=interval)
    except ScheduleError as error:
        raise typer.BadParameter(str(error)) from None
    from .serve import check_parameters, scheduling_server_url, serve_pipeline

    try:
        load_config(config)
        url = scheduling_server_url()
        if dask_address:
            from .cluster import check_scheduler

            check_scheduler(dask_address)  # a typo found now, not at the first scheduled run
        parameters = check_parameters(
            _pipeline_parameters(
                [_absolute(s) for s in sources or []],
                db.expanduser().resolve(),
                report.expanduser().resolve(),
                [a.resolve() for a in actors or []],
                lexicon.resolve() if lexicon else None,
                label="serve",
                workers=workers,
                dask_address=dask_address,
                since=since,
                config=config,
                fetch_pages=not no_fetch,
                field_map=field_map,
            )
        )
    except TonewatchError as error:
        raise _fail(error) from None
    when = f'on cron "{cron}" (UTC)' if cron else f"every {interval:g} s"
    typer.echo(f"serving tonewatch-pipeline/{name} {when} with {url}; Ctrl-C to stop")
    serve_pipeline(parameters, name=name, schedule=schedule, verbose=verbose)
    typer.echo(f"stopped serving tonewatch-pipeline/{name}; its schedule is paused")


def _parse_day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date like 2025-02-17, got {value!r}", param_hint=name) from None
    # A bare date is a UTC day, whatever the machine's time zone.
    return day if day.tzinfo is not None else day.replace(tzinfo=UTC)


def _split_ids(values: list[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for value in values or [] for part in value.split(",") if part.strip())


@app.command("report")
def report_command(
    db: DbOption,
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the HTML report (a dated copy goes beside it).")
    ] = DEFAULT_REPORT_PATH,
    since: Annotated[str | None, typer.Option(help="First day to include (YYYY-MM-DD, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Day after the last one (YYYY-MM-DD, UTC).")] = None,
    blocs: Annotated[
        list[str] | None,
        typer.Option("--blocs", help="Only statements between these blocs (comma-separated ids)."),
    ] = None,
    actors: Annotated[
        list[str] | None,
        typer.Option("--actors", help="Only statements by or about these actors (ids, comma-separated)."),
    ] = None,
    granularity: Annotated[
        str, typer.Option(help="Period of a point: day, week, month, or auto (from the span of the data).")
    ] = "auto",
    count_duplicates: Annotated[bool, typer.Option(help="Count every syndicated copy.")] = False,
) -> None:
    """Write the HTML report from the store without running the pipeline.

    Example: tonewatch report --since 2025-01-01 --blocs moscow,washington --granularity week
    """
    from .reporting import build_report

    if granularity not in ("auto", "day", "week", "month"):
        raise typer.BadParameter(
            f"expected auto, day, week or month, got {granularity!r}", param_hint="--granularity"
        )
    try:
        path, _ = build_report(
            db,
            out,
            since=_parse_day(since, "--since"),
            until=_parse_day(until, "--until"),
            granularity=granularity,
            blocs=_split_ids(blocs),
            actors=_split_ids(actors),
            count_duplicates=count_duplicates,
        )
    except TonewatchError as error:
        raise _fail(error) from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(f"report: {path}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement, run read-only.")],
    db: DbOption,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Value for a ? placeholder (repeatable)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run a read-only SQL statement against the store and print the result.

    Example: tonewatch query "select * from dyad_weekly where source_bloc = ?" -p moscow
    """
    import polars as pl

    from . import store

    if output not in ("table", "csv", "json"):
        raise typer.BadParameter(f"expected table, csv or json, got {output!r}", param_hint="--format")
    try:
        with store.open_store(db, read_only=True) as con:
            frame = store.run_query(con, sql, param or [])
    except TonewatchError as error:
        raise _fail(error) from None
    if output == "csv":
        typer.echo(frame.write_csv(), nl=False)
    elif output == "json":
        typer.echo(frame.write_json())
    else:
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=80, tbl_hide_dataframe_shape=True):
            typer.echo(str(frame))


@app.command()
def export(
    db: DbOption,
    parquet: Annotated[
        Path,
        typer.Option(
            "--parquet",
            help="Folder to write (replaced if it holds an earlier export).",
            file_okay=False,
            show_default=False,
        ),
    ],
) -> None:
    """Export every table as Parquet, partitioned by month, for DuckDB, Polars, Spark or a warehouse.

    The snapshot is yours to query freely while scheduled runs keep writing the store.

    Example: tonewatch export --parquet exports/tonewatch
    """
    from .export import export_parquet

    try:
        summary = export_parquet(db, parquet)
    except TonewatchError as error:
        raise _fail(error) from None
    typer.echo(summary.line())


@app.command()
def actors(
    files: ActorsOption = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="Validate this registry file (merged over the default) and exit.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """List the actor registry in use, or check a registry file for errors.

    Example: tonewatch actors --check my-actors.toml
    """
    from .config import load_registry

    extra = [*(files or []), *([check] if check else [])]
    try:
        registry = load_registry(extra)
    except TonewatchError as error:
        raise _fail(error) from None
    if check is not None:
        typer.echo(
            f"{check}: ok ({len(registry.actors)} actors, {len(registry.roles)} roles in the merged registry)"
        )
        return
    for bloc in registry.blocs:
        members = [a for a in registry.actors.values() if a.bloc == bloc.bloc_id]
        typer.echo(f"{bloc.name} ({bloc.bloc_id}, {len(members)} actors)")
        for actor in members:
            typer.echo(f"  {actor.actor_id:22} {actor.kind:12} {actor.name}: {', '.join(actor.aliases)}")
    if registry.roles:
        typer.echo("Roles (resolved by the article's date)")
        for role in registry.roles:
            holders = "; ".join(
                f"{h.actor_id} {h.valid_from or '…'} to {h.valid_until or '…'}" for h in role.holders
            )
            typer.echo(f"  {' / '.join(role.aliases)}: {holders}")


@app.command()
def evaluate(
    files: Annotated[
        list[Path], typer.Argument(help="NewsMTSC-format JSON-lines files.", exists=True, dir_okay=False)
    ],
    lexicon: LexiconOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file.")] = False,
) -> None:
    """Measure target-aware tone against labelled targets, beside plain sentence VADER.

    Prints n, accuracy, macro-F1, per-class F1 and the confusion matrices.

    Example: tonewatch evaluate ../shared/data/newsmtsc/devtest_rw_dev.jsonl
    """
    import json

    from ..transforms.score import ToneScorer
    from .config import load_lexicon
    from .evaluation import evaluate_file, format_evaluation

    try:
        scorer = ToneScorer(load_lexicon(lexicon))
        for path in files:
            result = evaluate_file(path, scorer)
            typer.echo(json.dumps(result) if as_json else format_evaluation(path, result))
    except TonewatchError as error:
        raise _fail(error) from None


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except TonewatchError as error:  # pragma: no cover - commands catch their own
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
