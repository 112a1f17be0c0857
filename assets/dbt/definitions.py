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
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lib.dbt_project import growth_dbt_project
from orchestration.lib.dbt_translator import GrowthDbtTranslator
from orchestration.lib.gate_ledger import failed_gates
from orchestration.lib.marts import SCHEMA, open_marts
from orchestration.lib.partitions import daily_partitions, single_run
from orchestration.lib.resources import WarehouseResource
from orchestration.settings import Settings, load_settings

RUN_SCOPE_ENV = "GROWTH_DBT_RUN_SCOPE"
# Staging tests restate the landing contract, which the loader and the gates already hold per
# day; over a view they re-read every day ever landed, so the nightly build leaves them to full
# builds by hand and CI (dbt_project.yml disables them for a `--vars` run the same way).
NIGHTLY_EXCLUDE = "resource_type:test,path:models/staging"


def run_scope(context: dg.AssetExecutionContext, held_back: list[str]) -> dict[str, Any]:
    window = context.partition_time_window
    last_day = (window.end - dt.timedelta(days=1)).date()
    return {
        "start_date": window.start.date().isoformat(),
        "end_date": last_day.isoformat(),
        "held_back_dates": held_back,
    }


def with_row_counts(events: list[Any], settings: Settings) -> Iterator[Any]:
    """dbt's events, with `dagster/row_count` on every table a model or seed materialized
    (on Spark, on the marts: the tables the steps after dbt read)."""
    nodes = json.loads(growth_dbt_project.manifest_path.read_text())["nodes"]
    relations: dict[str, str] = {}
    for event in events:
        if isinstance(event, dg.Output):
            value = event.metadata.get("unique_id")
            unique_id = getattr(value, "value", value)
            node = nodes.get(unique_id or "", {})
            if node.get("config", {}).get("materialized") not in ("table", "incremental", "seed"):
                continue
            if settings.dbt_target == "duckdb" or node.get("schema") == SCHEMA:
                relations[unique_id] = f'{node["schema"]}."{node["alias"]}"'
    counts: dict[str, int] = {}
    if relations:
        with open_marts(settings) as con:
            for unique_id, relation in relations.items():
                counts[unique_id] = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
    for event in events:
        if isinstance(event, dg.Output):
            value = event.metadata.get("unique_id")
            unique_id = getattr(value, "value", value)
            if unique_id in counts:
                event = event.with_metadata(
                    {**event.metadata, "dagster/row_count": counts[unique_id]}
                )
        yield event


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
    # every held-back date, not only this run's: a later folder must not bring a held-back
    # date back into the marts through its late records
    with warehouse.connect(read_only=True) as con:
        held_back = failed_gates(con, landed_data_only=True)
    scope = run_scope(context, sorted(held_back))
    context.log.info(f"dbt build for business dates {scope['start_date']}..{scope['end_date']}")
    for date, gates in held_back.items():
        context.log.warning(f"{date} is held back (it failed {', '.join(gates)})")
    # unit tests pin down the models' code on hand-made rows: CI runs them (make test), the
    # nightly build runs the data tests (and an incremental model's unit test needs the model
    # to exist already, which a first build has not)
    settings = load_settings()
    invocation = started_with_scope(
        dbt,
        scope,
        args=["build", "--exclude-resource-type", "unit_test"],
        context=context,
        raise_on_error=False,
        target_path=settings.dbt_run_target,
    )
    # Events are held until dbt exits: only then may this process open the DuckDB file (one
    # writer per file) to count the rows of what was built. dbt's log streams meanwhile.
    events = list(invocation.stream())
    yield from with_row_counts(events, settings)
    if not invocation.is_successful():
        failed = _failed_nodes(invocation)
        raise dg.Failure(
            description="dbt build failed: " + ("; ".join(failed) or "see the dbt log above"),
            metadata={"failed_nodes": dg.MetadataValue.json(failed)},
        )


defs = dg.Definitions(assets=[growth_dbt_models])
