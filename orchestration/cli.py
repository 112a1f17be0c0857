"""`growth`: the command line of the warehouse (interfaces.md).

Every command fails with one clear sentence, not a traceback (set GROWTH_DEBUG=1 to see one).
`run`, `report` and `demo` go through Dagster, on the same asset graph as the UI, and record
their runs in the same Dagster instance (`$GROWTH_HOME/dagster`), so `growth ui` shows them.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

import click

from orchestration.lib.warehouse_lock import WarehouseLockError, hold_warehouse
from orchestration.settings import PROJECT_ROOT, Settings, load_settings

SCALES = ("small", "medium", "large")


def _parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date in YYYY-MM-DD form", param_hint=option
        ) from None


def _say(message: str) -> None:
    click.echo(message, err=True)


def _command_line() -> str:
    """This invocation as the user typed it, for the warehouse lock's record."""
    return shlex.join(["growth", *sys.argv[1:]])


def _prepare_dagster(settings: Settings) -> None:
    """Points Dagster at the home's instance, with one run at a time: the embedded warehouse
    is one DuckDB file, which allows a single writing process."""
    settings.export()
    dagster_home = settings.dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from orchestration.lib.dagster_storage import INSTANCE_HEADER, instance_yaml

    config = dagster_home / "dagster.yaml"
    written = config.read_text() if config.exists() else None
    # a file growth wrote before is brought up to date; one a user wrote is theirs
    if written is None or (written.startswith(INSTANCE_HEADER) and written != instance_yaml()):
        config.write_text(instance_yaml())


def _load_definitions() -> Any:
    from orchestration.lib.dbt_project import ensure_manifest

    ensure_manifest()
    from orchestration.definitions import defs

    return defs


def execute(
    job_name: str,
    start: dt.date,
    end: dt.date,
    settings: Settings | None = None,
    command: str | None = None,
) -> tuple[bool, list[str]]:
    """Runs a partitioned job over [start, end] as one Dagster run. Returns success and the
    human-readable reasons it failed (failed checks first, then failed steps, each by its
    underlying cause).

    The warehouse lock is taken first, before Dagster is even loaded: a run that finds another
    one writing the warehouse refuses at once, naming it (ClickException). The run's own
    `WarehouseResource` re-enters the lock this process holds."""
    settings = settings or load_settings()
    # The run id is chosen here so the lock names the very run Dagster records.
    run_id = str(uuid.uuid4())
    partitions = start.isoformat() if start == end else f"{start}..{end}"
    try:
        with hold_warehouse(
            settings.warehouse,
            run_id=run_id,
            job=job_name,
            partitions=partitions,
            command=command,
            launched_by="growth",
        ):
            return _execute(job_name, start, end, settings, run_id)
    except WarehouseLockError as exc:
        raise click.ClickException(str(exc)) from exc


def _execute(
    job_name: str, start: dt.date, end: dt.date, settings: Settings, run_id: str
) -> tuple[bool, list[str]]:
    import dagster as dg

    _prepare_dagster(settings)
    defs = _load_definitions()
    from orchestration.lib.partitions import daily_partitions

    keys = set(daily_partitions.get_partition_keys())
    for day in (start, end):
        if day.isoformat() not in keys:
            raise click.ClickException(
                f"{day} is outside the business dates Dagster offers "
                f"({min(keys)} to {max(keys)}); set GROWTH_PARTITIONS_START for earlier history"
            )
    job = defs.resolve_job_def(job_name)
    instance = dg.DagsterInstance.get()
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
        "growth/launched_by": "cli",
    }
    _say(f"Dagster run {run_id[:8]} ({job_name}, {start}..{end})")
    result = job.execute_in_process(
        instance=instance,
        run_id=run_id,
        tags=tags,
        raise_on_error=False,
        run_config={"loggers": {"concise": {"config": {"log_level": "INFO"}}}},
    )
    debug = bool(os.environ.get("GROWTH_DEBUG"))
    # A gate that failed some dates fails with WARN severity so the run's other dates go on
    # (Dagster blocks on ERROR only): the run succeeds in Dagster's terms, not in ours.
    gates_passed = all(e.passed for e in result.get_asset_check_evaluations())
    return result.success and gates_passed, failure_reasons(result, debug=debug)


def failure_reasons(result: Any, debug: bool = False) -> list[str]:
    """Why a Dagster run failed, one phrase each: failed checks first, then each failed step by
    its underlying cause. With `debug`, every failed step's whole error chain (each message and
    stack) goes to stderr as well."""
    reasons = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            reasons.append(
                f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
                + (f" ({evaluation.description})" if evaluation.description else "")
            )
    step_failed = False
    for event in result.all_events:
        if event.is_step_failure:
            step_failed = True
            error = event.step_failure_data.error
            if error and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # a failed blocking check, already named above
            reasons.append(f"step {event.step_key} failed: {describe_error(error)}")
            if debug and error:
                _say(f"step {event.step_key} failed:\n{error.to_string()}")
        elif event.is_resource_init_failure or (event.is_run_failure and not step_failed):
            # Failures outside any step (a resource that cannot start) carry their own error.
            data = event.event_specific_data
            error = getattr(data, "error", None) or getattr(
                getattr(data, "engine_event_data", None), "error", None
            )
            cause = describe_error(error) if error is not None else None
            if cause is None or any(cause in reason for reason in reasons):
                continue  # the run's failure repeats its resource's
            reasons.append(
                f"its resources could not start: {cause}"
                if event.is_resource_init_failure
                else cause
            )
            if debug:
                _say(f"{reasons[-1]}\n{error.to_string()}")
    return reasons


def _user_error(error: Any) -> Any:
    """The exception behind a Dagster error: the first one Dagster did not raise itself, and if
    that was raised while handling another one (a failed rollback, a cleanup), the original."""
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    seen = {id(error)}
    while error.cause is None and error.context is not None and id(error.context) not in seen:
        error = error.context
        seen.add(id(error))
    return error


def describe_error(error: Any) -> str:
    """One line for a Dagster `SerializableErrorInfo`: the underlying exception's class and the
    first line of its message (`LoadError: ads 2026-08-01 is not ready: ...`)."""
    if error is None:
        return "no error recorded (see the Dagster log above)"
    error = _user_error(error)
    lines = (error.message or "").strip().splitlines()
    first = lines[0].strip() if lines else ""
    # Dagster records "module.Class: message"; the module path is noise on a console.
    prefix, sep, rest = first.partition(": ")
    if sep and prefix.rsplit(".", 1)[-1] == error.cls_name:
        first = rest
    if error.cls_name in (None, "", "Failure"):  # dg.Failure: a message written for people
        return first
    return f"{error.cls_name}: {first}" if first else error.cls_name


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """The omni-channel growth warehouse: simulate, ingest, build marts, report."""


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Landing zone to write (default: $GROWTH_LANDING).",
)
@click.option("--start", "start_text", required=True, help="First business date, YYYY-MM-DD.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Number of business dates.",
)
@click.option("--scale", type=click.Choice(SCALES), default="small", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--faults", is_flag=True, help="Inject the deviations of sources.md on purpose.")
def simulate(
    out: Path | None, start_text: str, days: int, scale: str, seed: int, faults: bool
) -> None:
    """Write a simulated brand's landing zone and its _truth.json."""
    start = _parse_date(start_text, "--start")
    target = out or load_settings().landing
    _simulate(target, start, days, scale, seed, faults)
    click.echo(f"landing zone: {target}")
    click.echo(f"truth: {target / '_truth.json'}")


def _simulate(
    target: Path, start: dt.date, days: int, scale: str, seed: int, faults: bool
) -> dict[str, Any]:
    from orchestration.simulator import simulate as run_simulation

    target.mkdir(parents=True, exist_ok=True)
    try:
        return run_simulation(
            target, start, days, scale=scale, seed=seed, faults=faults, progress=_say
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--start", "start_text", required=True, help="First business date, YYYY-MM-DD.")
@click.option("--end", "end_text", help="Last business date (default: --start).")
def run(start_text: str, end_text: str | None) -> None:
    """Ingest and build everything for a range of business dates, in one Dagster run."""
    start = _parse_date(start_text, "--start")
    end = _parse_date(end_text, "--end") or start
    if end < start:
        raise click.BadParameter(f"--end {end} is before --start {start}", param_hint="--end")
    settings = load_settings()
    _require_landing(settings)
    _run_range(settings, start, end)


def _require_landing(settings: Settings) -> None:
    if not settings.landing.is_dir():
        raise click.ClickException(
            f"landing zone {settings.landing} does not exist (set GROWTH_LANDING, or write one "
            "with `growth simulate`)"
        )


def _run_range(settings: Settings, start: dt.date, end: dt.date) -> None:
    _say(f"running daily_pipeline for {start}..{end} (warehouse {settings.warehouse})")
    ok, reasons = execute("daily_pipeline", start, end, settings, command=_command_line())
    if not ok:
        raise click.ClickException(
            "the run failed: " + "; ".join(reasons or ["see the Dagster log above"])
        )
    _say(f"run succeeded; reports in {settings.reports}")


@cli.command()
@click.option("--date", "date_text", required=True, help="Business date, YYYY-MM-DD.")
def report(date_text: str) -> None:
    """(Re)build one day's evaluation report from the marts, behind its gate."""
    day = _parse_date(date_text, "--date")
    settings = load_settings()
    if not settings.warehouse.exists():
        raise click.ClickException(
            f"warehouse {settings.warehouse} does not exist yet: run `growth run` first"
        )
    ok, reasons = execute("report_job", day, day, settings, command=_command_line())
    if not ok:
        raise click.ClickException(
            f"no report for {day}: " + "; ".join(reasons or ["see the Dagster log above"])
        )
    click.echo(settings.reports / day.isoformat() / "evaluation.html")


@cli.command()
def publish() -> None:
    """Publish the read-only serving copy of the marts for BI ($GROWTH_SERVING)."""
    from assets.serving.publish import publish_serving
    from orchestration.lib.marts import MartsNotBuilt, open_marts

    settings = load_settings()
    try:
        # Reading the warehouse while a run writes it fails in DuckDB ("Conflicting lock");
        # the lock says so at once and names the run.
        with (
            hold_warehouse(settings.warehouse, command=_command_line(), launched_by="growth"),
            open_marts(settings) as marts,
        ):
            counts = publish_serving(marts, settings.serving, settings.serving.parent / "parquet")
    except (MartsNotBuilt, WarehouseLockError) as exc:
        raise click.ClickException(str(exc)) from exc
    for table, rows in counts.items():
        _say(f"  marts.{table}: {rows:,} rows")
    click.echo(settings.serving)


@cli.command()
@click.option("--date", "date_text", required=True, help="Business date, YYYY-MM-DD.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write (default: $GROWTH_HOME/crm/throttle-<date>.csv).",
)
def throttle(date_text: str, out_path: Path | None) -> None:
    """Write a day's fatigue throttle list (customer keys only) as a CSV for a CRM import."""
    from assets.crm.throttle import NoFatigueMart, write_throttle_csv
    from orchestration.lib.marts import MartsNotBuilt, open_marts

    day = _parse_date(date_text, "--date")
    settings = load_settings()
    out = out_path or settings.home / "crm" / f"throttle-{day.isoformat()}.csv"
    try:
        with (
            hold_warehouse(settings.warehouse, command=_command_line(), launched_by="growth"),
            open_marts(settings) as marts,
        ):
            rows = write_throttle_csv(marts, day, out)
    except (MartsNotBuilt, NoFatigueMart, WarehouseLockError) as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"{rows:,} customers to throttle on {day}")
    click.echo(out)


@cli.command()
@click.option("--days", type=click.IntRange(min=1, max=365), default=14, show_default=True)
@click.option("--scale", type=click.Choice(SCALES), default="small", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo(days: int, scale: str, seed: int) -> None:
    """Simulate a brand for the last N days, run the whole pipeline, print where things are."""
    settings = load_settings()
    end = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=days - 1)
    _say(f"simulating {days} days ({start}..{end}, scale {scale}) into {settings.landing}")
    _simulate(settings.landing, start, days, scale, seed, faults=False)
    _run_range(settings, start, end)
    html_path = settings.reports / end.isoformat() / "evaluation.html"
    click.echo("")
    click.echo(f"report:    {html_path}")
    click.echo(f"json:      {html_path.with_suffix('.json')}")
    click.echo(f"warehouse: {settings.warehouse}  (written by the pipeline)")
    click.echo(f"serving:   {settings.serving}  (read-only copy of schema `marts` for BI)")
    click.echo(f"landing:   {settings.landing}")
    click.echo("ui:        growth ui  (then open http://127.0.0.1:3000)")


@cli.command()
@click.option("--port", type=int, default=3000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def ui(port: int, host: str) -> None:
    """Start the Dagster UI on this workspace."""
    settings = load_settings()
    _prepare_dagster(settings)
    from orchestration.lib.dbt_project import ensure_manifest

    ensure_manifest()
    dagster = Path(sys.executable).parent / "dagster"
    command = [
        str(dagster) if dagster.exists() else "dagster",
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-p",
        str(port),
        "-h",
        host,
    ]
    _say(f"Dagster UI on http://{host}:{port} (Ctrl-C to stop)")
    raise SystemExit(subprocess.call(command, cwd=PROJECT_ROOT))


@cli.command()
@click.option(
    "--transactions",
    "transactions_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV file with the columns customer_id, date, amount (one row per purchase).",
)
@click.option(
    "--calibration-end",
    "calibration_end_text",
    required=True,
    help="Last date of the fit's history, YYYY-MM-DD (later purchases are ignored).",
)
def clv(transactions_path: Path, calibration_end_text: str) -> None:
    """Fit the CLV model (BG/NBD + Gamma-Gamma) on a transactions file; print its parameters
    as JSON."""
    _clv(transactions_path, _parse_date(calibration_end_text, "--calibration-end"))


def _clv(transactions_path: Path, calibration_end: dt.date) -> None:
    import json

    import pandas as pd

    from assets.customers.clv import TransactionsError, fit_transactions

    try:
        frame = pd.read_csv(transactions_path, dtype={"customer_id": str, "date": str})
    except (ValueError, UnicodeDecodeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(f"{transactions_path} is not a readable CSV: {first}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    try:
        result = fit_transactions(frame, calibration_end)
    except TransactionsError as exc:
        raise click.ClickException(f"{transactions_path}: {exc}") from None
    click.echo(json.dumps(result.as_json()))


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _say("aborted")
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except SystemExit:
        raise
    except Exception as exc:  # one sentence for the user; the traceback on request
        if os.environ.get("GROWTH_DEBUG"):
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _say(f"Error: {first} (set GROWTH_DEBUG=1 for the traceback)")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
