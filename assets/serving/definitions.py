"""Serving: the read-only copy of the marts that BI tools open (interfaces.md, BI access)."""

import dagster as dg

from assets.serving.publish import publish_serving
from orchestration.lib.marts import open_marts
from orchestration.lib.partitions import daily_partitions, single_run
from orchestration.settings import load_settings


@dg.asset(
    key="serving_copy",
    group_name="serving",
    description=(
        "The `marts` schema (of the engine dbt built it on) copied into $GROWTH_SERVING (a "
        "separate DuckDB file BI tools open read-only, e.g. duckdb:///...?access_mode=read_only) "
        "and into Parquet files beside it; "
        "replaced atomically after each run whose report gates passed."
    ),
    # after every mart is written: the report's, and the Python marts of the supply forecast
    # and the data-driven attribution
    deps=[
        "evaluation_report",
        "mart_demand_forecast",
        "mart_forecast_accuracy",
        "mart_attribution_data_driven",
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    kinds={"duckdb", "parquet"},
    owners=["team:growth-data"],
    required_resource_keys={"warehouse"},
)
def serving_copy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = load_settings()
    with open_marts(settings) as marts:
        counts = publish_serving(marts, settings.serving, settings.serving.parent / "parquet")
    context.log.info(f"published {len(counts)} marts to {settings.serving}")
    return dg.MaterializeResult(
        metadata={
            "serving_file": dg.MetadataValue.path(str(settings.serving)),
            "row_counts": dg.MetadataValue.json(counts),
        }
    )


defs = dg.Definitions(assets=[serving_copy])
