"""Every dbt model, seed and test as Dagster assets and checks, rebuilt per business-date range.

The run's partition range reaches dbt as its run scope (`start_date`, `end_date`): incremental
models rebuild only the dates touched by the landing folders of the run, and a backfill of many
days is one dbt invocation (single-run backfill policy), not one per day. So do the dates a gate
of the landed data failed (`held_back_dates`, from the gate ledger): their folders stay out of
every model and their dates out of the marts, while the run's other dates are built.

The scope goes to dbt in the environment (RUN_SCOPE_ENV, read by the macro run_var), not as
`--vars`: vars that change on every run make dbt parse the whole project every run, while the
environment, read only as models execute, leaves dbt's partial parsing in place between runs
(in the home's own target folder, Settings.dbt_run_target).
"""

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from orchestration.lib.clustering import (
    cluster,
    clustered_tables,
    describe,
    layout_due,
    record_layout_check,
)
from orchestration.lib.dbt_project import growth_dbt_project
from orchestration.lib.dbt_translator import GrowthDbtTranslator
from orchestration.lib.gate_ledger import failed_gates
from orchestration.lib.marts import SCHEMA, open_marts
from orchestration.lib.partitions import daily_partitions, partition_dates, single_run
from orchestration.lib.resources import WarehouseResource
from orchestration.lib.seed_loads import record_seed_loads, unchanged_seeds
from orchestration.lib.vacuum import fragmented_tables
from orchestration.settings import Settings, load_settings

RUN_SCOPE_ENV = "GROWTH_DBT_RUN_SCOPE"
# Staging tests restate the landing contract, which the loader and the gates already hold per
# day; over a view they re-read every day ever landed, so the nightly build leaves them to full
# builds by hand and CI (dbt_project.yml disables them for a `--vars` run the same way).
NIGHTLY_EXCLUDE = "resource_type:test,path:models/staging"
# A build of more dates than this runs its models one at a time on DuckDB: two models at once
# share the one memory limit (GROWTH_DUCKDB_MEMORY_LIMIT), and a year's backfill (27.6M hits
# into 9.4M sessions) ran out of it in int_sessions while the other thread built the order
# marts; alone, it took 1.3 GB of the process. A night's few dates keep both threads.
ONE_MODEL_AT_A_TIME_ABOVE_DATES = 31


def build_args(unchanged_seeds: Iterable[str], dates: int, target: str) -> list[str]:
    """The arguments of the run's `dbt build`. Unit tests pin down the models' code on
    hand-made rows: CI runs them (make test), a run the data tests (an incremental model's unit
    test needs the model to exist already, which a first build has not). The seeds as they
    were last loaded and tested are left out; a build of many dates on DuckDB runs one model at
    a time (ONE_MODEL_AT_A_TIME_ABOVE_DATES)."""
    args = ["build", "--exclude-resource-type", "unit_test"]
    if unchanged_seeds:
        args += ["--exclude", " ".join(sorted(unchanged_seeds))]
    if target == "duckdb" and dates > ONE_MODEL_AT_A_TIME_ABOVE_DATES:
        args += ["--threads", "1"]
    return args


def run_scope(context: dg.AssetExecutionContext, held_back: list[str]) -> dict[str, Any]:
    window = context.partition_time_window
    last_day = (window.end - dt.timedelta(days=1)).date()
    return {
        "start_date": window.start.date().isoformat(),
        "end_date": last_day.isoformat(),
        "held_back_dates": held_back,
    }


def _node_id(event: Any) -> str:
    value = event.metadata.get("unique_id")
    return getattr(value, "value", value) or ""


def _with_counts(events: Iterable[Any], count_of: Callable[[str], int | None]) -> Iterator[Any]:
    """The events, each Output of a node `count_of` knows with its `dagster/row_count`."""
    for event in events:
        if isinstance(event, dg.Output):
            count = count_of(_node_id(event))
            if count is not None:
                event = event.with_metadata({**event.metadata, "dagster/row_count": count})
        yield event


def with_recorded_row_counts(events: Iterable[Any], folder: Path) -> Iterator[Any]:
    """dbt's events as dbt reports them, each table's Output with the `dagster/row_count` its
    model's post-hook recorded in `folder` (macro record_row_count): Dagster stores a node's
    events while dbt builds the next ones."""

    def recorded(unique_id: str) -> int | None:
        path = folder / f"{unique_id}.csv"
        return int(path.read_text().strip()) if path.exists() else None

    return _with_counts(events, recorded)


def with_marts_row_counts(events: list[Any], settings: Settings) -> Iterator[Any]:
    """dbt's events, once dbt has exited (a run on Spark), each mart's Output with the
    `dagster/row_count` counted through `open_marts`: the marts are the tables the steps after
    dbt read."""
    nodes = _manifest_nodes()
    relations: dict[str, str] = {}
    for event in events:
        if isinstance(event, dg.Output):
            node = nodes.get(_node_id(event), {})
            if node.get("schema") == SCHEMA and node.get("config", {}).get("materialized") in (
                "table",
                "incremental",
                "seed",
            ):
                relations[_node_id(event)] = f'{node["schema"]}."{node["alias"]}"'
    counts: dict[str, int] = {}
    if relations:
        with open_marts(settings) as con:
            for unique_id, relation in relations.items():
                counts[unique_id] = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    return _with_counts(events, counts.get)


def _manifest_nodes() -> dict[str, Any]:
    """The dbt project's nodes, by unique id, from the manifest the assets are built from."""
    return json.loads(growth_dbt_project.manifest_path.read_text())["nodes"]


def _unchanged_seed_outputs(
    context: dg.AssetExecutionContext,
    con: Any,
    nodes: Mapping[str, Any],
    unchanged: Mapping[str, dt.datetime],
) -> Iterator[dg.Output]:
    """An Output for each seed of the run left out of its build as last loaded: its table
    holds the seed of these dates, which the asset's partitions then show (a partition left
    missing would look like a seed never loaded)."""
    by_name = {n["name"]: n for n in nodes.values() if n.get("resource_type") == "seed"}
    for name, loaded_at in sorted(unchanged.items()):
        node = by_name[name]
        key = get_asset_key_for_model([context.assets_def], name)
        if key not in context.selected_asset_keys:
            continue
        rows = con.execute(f'select count(*) from "{node["schema"]}"."{node["alias"]}"').fetchall()
        yield dg.Output(
            None,
            output_name=context.assets_def.get_output_name_for_asset_key(key),
            metadata={
                "unique_id": node["unique_id"],
                "reloaded": False,
                "loaded_and_tested_at": dg.MetadataValue.timestamp(
                    loaded_at.replace(tzinfo=dt.UTC)
                ),
                "dagster/row_count": rows[0][0],
            },
        )


def _failed_nodes(invocation: Any) -> list[str]:
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except Exception:
        return []
    return [
        f"{r['unique_id']} ({r['status']}): {(r.get('message') or '').strip()[:200]}"
        for r in results
        if r.get("status") in ("error", "fail", "runtime error")
    ]


def started_with_scope(dbt: DbtCliResource, scope: Mapping[str, Any], **kwargs: Any) -> Any:
    """`dbt.cli(**kwargs)` with the run scope in the dbt process's environment only: the
    process is started inside `cli`, and this process's environment is restored after it."""
    previous = os.environ.get(RUN_SCOPE_ENV)
    os.environ[RUN_SCOPE_ENV] = json.dumps(scope)
    try:
        return dbt.cli(**kwargs)
    finally:
        if previous is None:
            os.environ.pop(RUN_SCOPE_ENV, None)
        else:
            os.environ[RUN_SCOPE_ENV] = previous


@dbt_assets(
    manifest=growth_dbt_project.manifest_path,
    project=growth_dbt_project,
    dagster_dbt_translator=GrowthDbtTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    exclude=NIGHTLY_EXCLUDE,
    name="growth_dbt_models",
    pool="warehouse",
)
def growth_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    settings = load_settings()
    project_dir = Path(growth_dbt_project.project_dir)
    with warehouse.connect(read_only=True) as con:
        # every held-back date, not only this run's: a later folder must not bring a
        # held-back date back into the marts through its late records
        held_back = failed_gates(con, landed_data_only=True)
        fragmented = fragmented_tables(con)
        # A build of the whole project (the nightly job, a backfill) leaves out the seeds as
        # they were; assets picked by hand are loaded as asked. Spark's seed tables are not
        # in this file: there every build loads them.
        whole = set(context.selected_asset_keys) >= set(growth_dbt_models.keys)
        nodes = _manifest_nodes() if whole and settings.dbt_target == "duckdb" else {}
        unchanged = unchanged_seeds(con, nodes, project_dir) if nodes else {}
        # before dbt's events: Dagster takes a multi-asset's outputs in the graph's order
        seed_outputs = list(_unchanged_seed_outputs(context, con, nodes, unchanged))
    scope = run_scope(context, sorted(held_back))
    scope["vacuum"] = bool(fragmented)
    if fragmented:
        context.log.info(
            "DuckDB's vacuum is on for this build: deleted rows "
            + ", ".join(f"{t} {d:,} of {d + n:,}" for t, (d, n) in sorted(fragmented.items()))
        )
    context.log.info(f"dbt build for business dates {scope['start_date']}..{scope['end_date']}")
    if unchanged:
        context.log.info(
            "seeds as they were last loaded and tested, left out of this build with their "
            f"tests: {', '.join(sorted(unchanged))}"
        )
    for date, gates in held_back.items():
        context.log.warning(f"{date} is held back (it failed {', '.join(gates)})")
    # On DuckDB each table's row count comes from its model's post-hook, so its events pass on
    # while dbt goes on; on Spark they are held until dbt exits, when the marts can be counted.
    counts = settings.dbt_run_target / "row_counts" if settings.dbt_target == "duckdb" else None
    if counts is not None:
        shutil.rmtree(counts, ignore_errors=True)  # a count left by an earlier run is no count
        counts.mkdir(parents=True)
        scope["row_counts_dir"] = str(counts)
    dates = partition_dates(context)
    args = build_args(unchanged, len(dates), settings.dbt_target)
    if "--threads" in args:
        context.log.info(
            f"{len(dates)} dates: dbt builds one model at a time, each with the whole memory limit"
        )
    invocation = started_with_scope(
        dbt,
        scope,
        args=args,
        context=context,
        raise_on_error=False,
        target_path=settings.dbt_run_target,
    )
    yield from seed_outputs
    if counts is not None:
        yield from with_recorded_row_counts(invocation.stream(), counts)
    else:
        yield from with_marts_row_counts(list(invocation.stream()), settings)
    if settings.dbt_target == "duckdb":
        try:
            built = invocation.get_artifact("manifest.json")["nodes"]
            results = invocation.get_artifact("run_results.json").get("results", [])
        except (OSError, ValueError, KeyError):
            built = None  # dbt stopped before writing them: its failure is the one to see
        if built is not None:
            with warehouse.connect() as con:
                record_seed_loads(con, built, results, project_dir)
    if not invocation.is_successful():
        failed = _failed_nodes(invocation)
        raise dg.Failure(
            description="dbt build failed: " + ("; ".join(failed) or "see the dbt log above"),
            metadata={"failed_nodes": dg.MetadataValue.json(failed)},
        )
    if settings.dbt_target == "duckdb":
        # a build of many dates leaves the tables built by date in no order (clustering.py)
        with warehouse.connect() as con:
            if layout_due(con, len(dates)):
                for line in describe(cluster(con, clustered_tables(_manifest_nodes()))):
                    context.log.info(f"sorted by date: {line}")
                record_layout_check(con)


defs = dg.Definitions(assets=[growth_dbt_models])
