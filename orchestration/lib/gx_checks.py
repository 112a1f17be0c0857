"""great-expectations suites as blocking Dagster asset checks (one factory for every gate).

GX's SQL datasource fails every expectation on DuckDB (GX issues 10738, 11579), so a suite runs
on GX's pandas datasource over just the columns it names, pulled per business date from DuckDB.
Suites are JSON files in `expectations/` in GX 1.x's own format (`name`, `expectations` of
`type` + `kwargs`), so an analyst edits them without touching Python.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.lib.marts import open_marts
from orchestration.lib.partitions import partition_dates
from orchestration.settings import EXPECTATIONS_DIR, load_settings

_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


@dataclass
class SuiteOutcome:
    """The result of one suite on one business date."""

    date: str | None
    rows: int
    success: bool
    failures: list[dict[str, Any]] = field(default_factory=list)


def _frame(relation: Any) -> Any:
    """A pandas frame over Arrow buffers: pulling 9M rows this way takes a fraction of a
    second where `.df()` (Python objects) takes seconds and twice the memory."""
    import pandas as pd

    return relation.to_arrow_table().to_pandas(types_mapper=pd.ArrowDtype)


def load_suite_document(suite_name: str, directory: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    path = directory / f"{suite_name}.json"
    if not path.exists():
        raise FileNotFoundError(f"great-expectations suite {path} does not exist")
    return json.loads(path.read_text(encoding="utf-8"))


def suite_columns(document: dict[str, Any]) -> list[str]:
    """The columns a suite reads, so only those leave the warehouse."""
    columns: list[str] = []
    for expectation in document["expectations"]:
        kwargs = expectation.get("kwargs", {})
        names = [kwargs[k] for k in _COLUMN_KWARGS if k in kwargs]
        for key in _COLUMN_LIST_KWARGS:
            names.extend(kwargs.get(key, []))
        for name in names:
            if name not in columns:
                columns.append(name)
    return columns


@cache
def _gx_context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def volume_bounds(document: dict[str, Any], history: list[int]) -> tuple[int, int] | None:
    """Row-count bounds for a date from the counts of its recent dates, when the suite asks
    for it (`meta.row_count_vs_recent_days`: days, min_ratio, max_ratio, min_history)."""
    rule = document.get("meta", {}).get("row_count_vs_recent_days")
    if not rule or len(history) < int(rule.get("min_history", 3)):
        return None
    mean = sum(history) / len(history)
    return int(mean * float(rule.get("min_ratio", 0.5))), int(
        mean * float(rule.get("max_ratio", 2.0)) + 1
    )


def run_volume_expectation(frame: Any, bounds: tuple[int, int]) -> dict[str, Any] | None:
    """GX's row-count expectation with bounds computed for this date; the failure or None."""
    import great_expectations.expectations as gxe

    context = _gx_context()
    try:
        batch_definition = (
            context.data_sources.get("frames_volume")
            .get_asset("volume")
            .get_batch_definition("frame")
        )
    except Exception:  # first use in the process
        batch_definition = (
            context.data_sources.add_pandas("frames_volume")
            .add_dataframe_asset("volume")
            .add_batch_definition_whole_dataframe("frame")
        )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        gxe.ExpectTableRowCountToBeBetween(min_value=bounds[0], max_value=bounds[1])
    )
    if result.success:
        return None
    return {
        "expectation": "expect_table_row_count_to_be_between (vs recent days)",
        "column": None,
        "unexpected_count": None,
        "element_count": len(frame),
        "observed_value": f"{len(frame)} rows, expected {bounds[0]}..{bounds[1]}",
    }


# A day whose files lost more than this share of their records to the quarantine is not a
# day of data with a few bad rows but a broken export (`meta.load_log.max_quarantined_share`).
DEFAULT_MAX_QUARANTINED_SHARE = 0.1


def load_log_failures(
    con: Any, document: dict[str, Any], source: str, date: str
) -> list[dict[str, Any]]:
    """What the load log says was lost on a date: a declared file that did not load (missing,
    quarantined whole, a refused symlink), or a file that lost a large share of its records.
    The loader counts records independently of its reader, so such a loss is visible here
    even when the rows that did load look fine to every expectation."""
    rule = document.get("meta", {}).get("load_log", {})
    share = float(rule.get("max_quarantined_share", DEFAULT_MAX_QUARANTINED_SHARE))
    rows = con.execute(
        "select file, status, reason, rows_read, rows_quarantined from audit.load_log "
        "where source = ? and business_date = cast(? as date) order by file",
        [source, date],
    ).fetchall()
    failures = []
    for file, status, reason, rows_read, rows_quarantined in rows:
        if status in ("quarantined", "refused"):
            observed = f"{file} {status}: {reason} ({rows_read} records)"
            failures.append(_load_log_failure("every declared file loads", observed))
        elif rows_read and rows_quarantined > share * rows_read:
            observed = (
                f"{file}: {rows_quarantined} of {rows_read} records quarantined "
                f"(more than {share:.0%})"
            )
            failures.append(_load_log_failure("quarantined share of a file", observed))
    return failures


def _load_log_failure(rule: str, observed: str) -> dict[str, Any]:
    return {
        "expectation": f"load_log: {rule}",
        "column": None,
        "unexpected_count": None,
        "element_count": None,
        "observed_value": observed,
    }


def run_suite(document: dict[str, Any], frame: Any) -> tuple[bool, list[dict[str, Any]]]:
    """Validates a pandas frame against a suite document; returns success and the failures."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context = _gx_context()
    name = document["name"]
    source_name = f"frames_{name}"
    try:
        batch_definition = (
            context.data_sources.get(source_name).get_asset(name).get_batch_definition("frame")
        )
        suite = context.suites.get(name)
    except Exception:  # first use of this suite in the process
        source = context.data_sources.add_pandas(source_name)
        batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
            "frame"
        )
        suite = gx.ExpectationSuite(name=name)
        for expectation in document["expectations"]:
            suite.add_expectation_configuration(
                ExpectationConfiguration(type=expectation["type"], kwargs=expectation["kwargs"])
            )
        suite = context.suites.add(suite)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite)
    failures = []
    for item in result.results:
        if item.success:
            continue
        details = item.result or {}
        failures.append(
            {
                "expectation": item.expectation_config.type,
                "column": item.expectation_config.kwargs.get("column"),
                "unexpected_count": details.get("unexpected_count"),
                "element_count": details.get("element_count"),
                "observed_value": _plain(details.get("observed_value")),
            }
        )
    return bool(result.success), failures


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def _describe(failure: dict[str, Any]) -> str:
    where = f"({failure['column']})" if failure["column"] else ""
    if failure["unexpected_count"] is not None:
        return (
            f"{failure['expectation']}{where}: {failure['unexpected_count']} of "
            f"{failure['element_count']} rows"
        )
    return f"{failure['expectation']}{where}: observed {failure['observed_value']}"


def _summary(suite_name: str, outcomes: list[SuiteOutcome], failed: list[SuiteOutcome]) -> str:
    if not failed:
        return f"{suite_name}: all {len(outcomes)} dates passed"
    first = failed[0]
    details = "; ".join(_describe(f) for f in first.failures[:3])
    return (
        f"{suite_name}: {len(failed)} of {len(outcomes)} dates failed; "
        f"{first.date or 'all dates'}: {details}"
    )


def build_gx_check(
    *,
    asset_key: dg.AssetKey,
    suite_name: str,
    table: str,
    date_column: str,
    description: str,
    blocking: bool = True,
    on_failed_dates: Callable[[list[str | None]], None] | None = None,
    load_log_source: str | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking asset check that runs `expectations/<suite_name>.json` on each business date
    of the run (the whole table when the run has no partition). `on_failed_dates` lets the
    owner of a gated output withdraw what the failed dates must no longer show.
    `load_log_source`: the landing source whose load log the gate also reads for each date
    (`load_log_failures`)."""
    document = load_suite_document(suite_name)
    columns = suite_columns(document)
    if date_column not in columns:
        columns.append(date_column)
    select = ", ".join(f'"{c}"' for c in columns)
    volume_rule = document.get("meta", {}).get("row_count_vs_recent_days") or {}
    recent_days = int(volume_rule.get("days", 0))

    @dg.asset_check(
        asset=asset_key,
        name=f"gx_{suite_name}",
        blocking=blocking,
        description=description,
        required_resource_keys={"warehouse"},
    )
    def _gx_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        dates = partition_dates(context)
        outcomes: list[SuiteOutcome] = []
        # marts live on the engine dbt built them on; raw and audit always in the warehouse
        reading = (
            open_marts(load_settings())
            if table.startswith("marts.")
            else context.resources.warehouse.connect(read_only=True)
        )
        with reading as con:
            for date in dates or [None]:
                if date is None:
                    frame = _frame(con.sql(f"select {select} from {table}"))
                else:
                    frame = _frame(
                        con.sql(
                            f"select {select} from {table} "
                            f"where {date_column} = cast($date as date)",
                            params={"date": date},
                        )
                    )
                success, failures = run_suite(document, frame)
                if date is not None and recent_days:
                    history = [
                        n
                        for (n,) in con.execute(
                            f"select count(*) from {table} where {date_column} between "
                            f"cast(? as date) - {recent_days} and cast(? as date) - 1 "
                            f"group by {date_column}",
                            [date, date],
                        ).fetchall()
                    ]
                    bounds = volume_bounds(document, history)
                    volume_failure = run_volume_expectation(frame, bounds) if bounds else None
                    if volume_failure:
                        success = False
                        failures.append(volume_failure)
                if date is not None and load_log_source:
                    lost = load_log_failures(con, document, load_log_source, date)
                    if lost:
                        success = False
                        failures.extend(lost)
                outcomes.append(SuiteOutcome(date, len(frame), success, failures))
        failed = [o for o in outcomes if not o.success]
        if failed and on_failed_dates:
            on_failed_dates([o.date for o in failed])
        for outcome in failed:
            for failure in outcome.failures:
                context.log.error(
                    f"{suite_name} failed on {outcome.date or 'all dates'}: {_describe(failure)}"
                )
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=_summary(suite_name, outcomes, failed),
            metadata={
                "suite": suite_name,
                "dates_checked": len(outcomes),
                "rows_checked": sum(o.rows for o in outcomes),
                "failed_dates": dg.MetadataValue.json([o.date for o in failed]),
                "failures": dg.MetadataValue.json(
                    [{"date": o.date, **f} for o in failed for f in o.failures]
                ),
            },
        )

    return _gx_check
