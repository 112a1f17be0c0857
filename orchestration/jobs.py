"""Jobs and the daily schedule."""

from __future__ import annotations

import dagster as dg

# Everything for a range of business dates: ingestion, gates, dbt models and tests, reports.
daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest the landing zone, build every mart, run every check, build the reports.",
)

# Rebuild a report from the marts as they are; its gate runs again first.
report_job = dg.define_asset_job(
    name="report_job",
    selection=dg.AssetSelection.assets("evaluation_report")
    | dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey("fct_orders"), "gx_fct_orders")),
    description="Re-check the report inputs and rebuild the evaluation report of a date.",
)

# 06:00 Asia/Shanghai, for yesterday's business date (the partitions' time zone).
daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline,
    name="daily_pipeline_schedule",
    hour_of_day=6,
    minute_of_hour=0,
    description="Every day at 06:00 Asia/Shanghai: yesterday's business date.",
)
