"""Sensors: launch a business date when its landing zone is complete; record failed runs."""

import datetime as dt
import json
import os

import dagster as dg

from assets.ingest.loader import is_ready
from orchestration.jobs import daily_pipeline
from orchestration.lib.partitions import daily_partitions
from orchestration.settings import TIMEZONE, load_settings

# How far back the sensor looks for completed drops; older dates are a backfill's job.
LOOKBACK_DAYS = int(os.environ.get("GROWTH_SENSOR_LOOKBACK_DAYS", "14"))


def landing_dates(sources: list[str]) -> dict[str, list[str]]:
    """For each date folder present in the landing zone (within the lookback), the sources
    whose drop is not complete yet (no `_SUCCESS`)."""
    landing = load_settings().landing
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    earliest = today - dt.timedelta(days=LOOKBACK_DAYS)
    dates: set[str] = set()
    for source in sources:
        folder = landing / source
        if folder.is_dir():
            dates.update(p.name for p in folder.iterdir() if p.is_dir())
    out: dict[str, list[str]] = {}
    for date in sorted(dates):
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            continue
        if day < earliest or day >= today:
            continue
        out[date] = [s for s in sources if not is_ready(landing, s, day)]
    return out


# A date whose drop is still incomplete this long after midnight (Asia/Shanghai) lands the
# sources that did arrive, so they are validated early; the marts wait for the rest.
PARTIAL_AFTER_HOURS = int(os.environ.get("GROWTH_PARTIAL_INGEST_AFTER_HOURS", "30"))


def _now_shanghai() -> dt.datetime:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)


@dg.sensor(
    job=daily_pipeline,
    name="landing_zone_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches daily_pipeline for a business date once every source's _SUCCESS marker is "
        f"in the landing zone (dates within the last {LOOKBACK_DAYS} days, {TIMEZONE}, "
        "without a report yet). A date "
        f"still incomplete {PARTIAL_AFTER_HOURS}h after it began ingests the sources that "
        "arrived (the marts wait) and names the late ones."
    ),
)
def landing_zone_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from assets.ingest.definitions import SOURCE_SPECS, raw_asset_key

    sources = sorted(SOURCE_SPECS)
    partition_keys = set(daily_partitions.get_partition_keys())
    # Dates whose report exists were processed already (by this sensor, the schedule, a
    # backfill or `growth run`); re-processing a re-dropped date is an explicit re-run.
    reported = context.instance.get_materialized_partitions(dg.AssetKey("evaluation_report"))
    requests = []
    waiting = []
    already = 0
    now = _now_shanghai()
    for date, missing in landing_dates(sources).items():
        if date not in partition_keys:
            continue
        if date in reported:
            already += 1
            continue
        if not missing:
            # run_key makes each date launch once, however often the sensor ticks.
            requests.append(dg.RunRequest(run_key=f"landing-{date}", partition_key=date))
            continue
        waiting.append(f"{date}: late {', '.join(missing)}")
        age = now - dt.datetime.fromisoformat(date)
        arrived = [s for s in sources if s not in missing]
        if arrived and age >= dt.timedelta(hours=PARTIAL_AFTER_HOURS):
            context.log.warning(
                f"{date}: ingesting {', '.join(arrived)}; late: {', '.join(missing)}"
            )
            requests.append(
                dg.RunRequest(
                    run_key=f"partial-{date}-{'+'.join(arrived)}",
                    partition_key=date,
                    asset_selection=[raw_asset_key(SOURCE_SPECS[s]) for s in arrived],
                    tags={"growth/late_sources": ",".join(missing)},
                )
            )
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None
        if requests
        else (
            "; ".join(waiting)
            or (f"{already} complete dates already reported" if already else "")
            or "no complete landing drops"
        ),
    )


@dg.run_failure_sensor(
    name="run_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Appends every failed run (job, dates, failed steps, error) to "
    "$GROWTH_HOME/run_failures.jsonl for the on-call engineer.",
)
def run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    steps = [e.step_key for e in context.get_step_failure_events()]
    record = {
        "run_id": run.run_id,
        "job": run.job_name,
        "partition": run.tags.get("dagster/partition"),
        "partition_range": [
            run.tags.get("dagster/asset_partition_range_start"),
            run.tags.get("dagster/asset_partition_range_end"),
        ],
        "failed_steps": steps,
        "error": context.failure_event.message,
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    path = load_settings().run_failure_log
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    context.log.info(f"recorded failed run {run.run_id} ({', '.join(steps) or 'no step'})")
