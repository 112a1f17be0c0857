"""Ingestion: one daily-partitioned asset and one great-expectations gate per landing source,
all built from `sources.yml` by the same factory."""

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg

from assets.ingest.loader import (
    DayResult,
    SourceSpec,
    day_folder,
    load_day,
    load_source_specs,
    raw_lake,
)
from assets.ingest.loader.compaction import compact_closed_months
from assets.ingest.loader.lake import forget_missing, raw_rows_sql
from orchestration.lib.gx_checks import build_gx_check, prefetch_gx
from orchestration.lib.partitions import daily_partitions, partition_dates, single_run
from orchestration.settings import load_settings, pii_key

SOURCE_SPECS = load_source_specs()

# Every drop is due overnight: a source not landed by 07:00 (after the 06:00 schedule) for
# the previous day is late, and shows as stale in the UI.
FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 7 * * *", lower_bound_delta=dt.timedelta(hours=24), timezone="Asia/Shanghai"
)


# great-expectations takes ~7 s of Python to import. Imported in a thread while a load this
# large runs in DuckDB (which releases the GIL), it costs the run nothing; beside a small
# load it would compete with that load's Python for the GIL and only move the cost.
PREFETCH_GX_ABOVE_BYTES = 100 * 1024 * 1024


def _landed_bytes(landing: Path, spec: SourceSpec, dates: list[str]) -> int:
    total = 0
    for date in dates:
        folder = day_folder(landing, spec.name, dt.date.fromisoformat(date))
        if folder.is_dir():
            total += sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return total


def raw_asset_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["raw", spec.table])


def _day_metadata(day: DayResult) -> dict[str, Any]:
    """What one date's load did: the metadata of that date's partition. A run over a range
    gives each partition its own (`add_asset_metadata`): the run's whole figures on every
    partition, with a table of every date, made a year's single-run backfill store each
    source's 364 dates 364 times (82 KB an event, 490 MB of Dagster's index), and every step
    of every later night paid for the larger file."""
    return {
        "rows_read": day.rows_read,
        "rows_loaded": day.rows_loaded,
        "rows_quarantined": day.rows_quarantined,
        "duplicates_dropped": day.duplicates_dropped,
        "files_quarantined": dg.MetadataValue.json(day.quarantined_files),
        "files_not_loaded": dg.MetadataValue.json(day.files_not_loaded),
        "schema_drift": dg.MetadataValue.json(day.drift),
        "late_dates": dg.MetadataValue.json(sorted({x.isoformat() for x in day.late_dates})),
        "bytes": sum(f.bytes for f in day.files),
        "seconds": round(day.seconds, 2),
    }


def build_ingest_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    files = ", ".join(f.pattern for f in spec.files)

    @dg.asset(
        key=raw_asset_key(spec),
        group_name="ingest",
        description=(
            f"{spec.description} Loaded by the shared loader into Parquet data files, shown "
            f"by the view raw.{spec.table}."
        ),
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        kinds={"duckdb", "python"},
        owners=["team:growth-data"],
        tags={"family": spec.family},
        metadata={
            "landing_files": files,
            "primary_key": ", ".join(spec.primary_key),
            "change_feed": bool(spec.version_order()),
            "dagster/table_name": f"raw.{spec.table}",
        },
        required_resource_keys={"warehouse"},
        pool="warehouse",
        freshness_policy=FRESHNESS,
    )
    def _ingest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = load_settings()
        key = pii_key(settings)
        dates = partition_dates(context)
        if _landed_bytes(settings.landing, spec, dates) > PREFETCH_GX_ABOVE_BYTES:
            prefetch_gx()  # for the gates, while this long load runs in DuckDB
        days: list[DayResult] = []
        with context.resources.warehouse.connect() as con:
            lake = raw_lake(con)
            data_files = lake / spec.table
            lost = forget_missing(con, spec, lake, [dt.date.fromisoformat(d) for d in dates])
            for path in lost:
                context.log.warning(f"{path} was missing from the raw lake; this run rebuilds it")
            for number, date in enumerate(dates, start=1):
                context.log.info(f"[{number}/{len(dates)}] loading {spec.name} {date}")
                days.append(
                    load_day(
                        con,
                        spec,
                        settings.landing,
                        dt.date.fromisoformat(date),
                        key,
                        log_fn=context.log.info,
                    )
                )
            # the months these loads closed, or whose month file a reload made stale
            compacted = compact_closed_months(con, spec, log_fn=context.log.info)
        for file in (file for d in days for file in d.quarantined_files):
            context.log.warning(f"{file} was quarantined whole; see audit.quarantine")
        for entry in (entry for d in days for entry in d.files_not_loaded):
            context.log.warning(f"{entry['file']} was not loaded: {entry['reason']}")
        for day in days:
            context.add_asset_metadata(
                _day_metadata(day), partition_key=day.business_date.isoformat()
            )
        # the run's own, on each of its partitions: of a size that does not grow with them
        return dg.MaterializeResult(
            metadata={
                "data_files": dg.MetadataValue.path(str(data_files)),
                "compacted_months": dg.MetadataValue.json([f"{m:%Y-%m}" for m in compacted]),
            }
        )

    return _ingest


def build_ingest_check(spec: SourceSpec) -> dg.AssetChecksDefinition:
    return build_gx_check(
        asset_key=raw_asset_key(spec),
        suite_name=spec.gx_suite,
        table=f"raw.{spec.table}",
        date_column="_business_date",
        description=(
            f"great-expectations suite {spec.gx_suite} on each landed {spec.name} folder, and "
            "its load log (a declared file that did not load, or lost many records, fails the "
            "date); a failure stops that day's marts."
        ),
        load_log_source=spec.name,
        rows_of_dates=lambda con, since, until: raw_rows_sql(
            con, spec, raw_lake(con), since, until
        ),
    )


defs = dg.Definitions(
    assets=[build_ingest_asset(spec) for spec in SOURCE_SPECS.values()],
    asset_checks=[build_ingest_check(s) for s in SOURCE_SPECS.values() if s.gx_suite],
)
