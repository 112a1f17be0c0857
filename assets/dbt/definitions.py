"""Every dbt model, seed and test as Dagster assets and checks, rebuilt per business-date range.

The run's partition range reaches dbt as vars (`start_date`, `end_date`): incremental marts
rebuild only the dates touched by the landing folders of the run, and a backfill of many days is
one dbt invocation (single-run backfill policy), not one per day.
"""

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.lib.dbt_project import growth_dbt_project
from orchestration.lib.dbt_translator import GrowthDbtTranslator
from orchestration.lib.partitions import daily_partitions, single_run


def dbt_vars(context: dg.AssetExecutionContext) -> dict[str, str]:
    window = context.partition_time_window
    last_day = (window.end - dt.timedelta(days=1)).date()
    return {"start_date": window.start.date().isoformat(), "end_date": last_day.isoformat()}


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


@dbt_assets(
    manifest=growth_dbt_project.manifest_path,
    project=growth_dbt_project,
    dagster_dbt_translator=GrowthDbtTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    name="growth_dbt_models",
    pool="warehouse",
)
def growth_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    variables = dbt_vars(context)
    context.log.info(
        f"dbt build for business dates {variables['start_date']}..{variables['end_date']}"
    )
    invocation = dbt.cli(
        ["build", "--vars", json.dumps(variables)], context=context, raise_on_error=False
    )
    yield from invocation.stream()
    if not invocation.is_successful():
        failed = _failed_nodes(invocation)
        raise dg.Failure(
            description="dbt build failed: " + ("; ".join(failed) or "see the dbt log above"),
            metadata={"failed_nodes": dg.MetadataValue.json(failed)},
        )


defs = dg.Definitions(assets=[growth_dbt_models])
