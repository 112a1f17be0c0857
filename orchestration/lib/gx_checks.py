"""great-expectations suites as Dagster asset checks that hold back only the dates they fail.

A suite is a JSON file in `expectations/` in GX 1.x's own format (`name`, `expectations` of
`type` + `kwargs`): the contract an analyst edits, and the one place the rules live. GX judges
every expectation, and its result is what the check records. What the warehouse decides is the
frame GX judges, per expectation (`placement`), so that a large day costs seconds, not a copy
of 9M rows into pandas:

- `sql`: the expectation is pushed down to DuckDB over the day's rows, which hands GX only what
  decides it: a row count (one row holding it, judged as the sum of its weight column), the
  repeated values of a key (each twice, its row count as the weight), or the values a pattern
  does not match;
- `profile`: a per-day profile of the column: its distinct values with their row counts, or for
  a null check only "null or not". Any expectation whose verdict on a row depends on that
  row's value alone (sets, ranges, patterns, nulls) gives GX the same verdict on the profile;
- `pandas`: anything else (aggregates such as a mean, `mostly`, conditions across columns) runs
  as before, on the few columns it names, pulled from DuckDB through Arrow.

GX's SQL datasource fails every expectation on DuckDB (GX issues 10738, 11579), hence pandas
frames. Profiles carry `_rows`, so a failure still counts the rows behind it.

Each date of a run is judged on its own and recorded in `audit.gate_results` (gate_ledger). A
date that fails is held back: the dbt build leaves it out of the marts and the report skips
it, while the other dates of the run go on. The check fails with WARN severity when only some
dates failed (Dagster does not block on WARN, so the other dates proceed), and with ERROR when
every date failed (nothing downstream runs).
"""

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from orchestration.lib.gate_ledger import GateResult, failed_gates, record_gate_results
from orchestration.lib.marts import open_marts
from orchestration.lib.partitions import partition_dates
from orchestration.lib.sql import literal, quoted
from orchestration.settings import EXPECTATIONS_DIR, load_settings

_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)
WEIGHT = "_rows"
DATE = "_date"

# Column map expectations whose verdict on a row depends on that row's value alone: the
# distinct values of the day, weighted by their rows, get the same verdict from GX.
VALUE_WISE = frozenset(
    {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
        "expect_column_values_to_be_json_parseable",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
    }
)
NULL_WISE = frozenset({"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"})
UNIQUE = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
ROW_COUNT = frozenset({"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"})
ROW_COUNT_BOUNDS = ("min_value", "max_value", "strict_min", "strict_max")
# A pattern is tried by DuckDB first, over the distinct values, and GX judges the values DuckDB
# did not pass (the same search semantics; RE2 refuses what it cannot run, and the values then
# go to GX as a profile).
REGEX = frozenset(
    {"expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"}
)


@dataclass(frozen=True)
class PlannedExpectation:
    """One expectation of a suite and where it runs."""

    index: int
    type: str
    kwargs: dict[str, Any]
    placement: str  # sql | profile | pandas

    @property
    def columns(self) -> list[str]:
        names = [self.kwargs[k] for k in _COLUMN_KWARGS if k in self.kwargs]
        for key in _COLUMN_LIST_KWARGS:
            names.extend(self.kwargs.get(key, []))
        return names

    @property
    def label(self) -> str:
        where = ", ".join(self.columns)
        return f"{self.type}({where})" if where else self.type


@dataclass
class SuiteOutcome:
    """The result of one suite on one business date (None: the whole relation)."""

    date: str | None
    rows: int
    success: bool
    failures: list[dict[str, Any]] = field(default_factory=list)


def load_suite_document(suite_name: str, directory: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    path = directory / f"{suite_name}.json"
    if not path.exists():
        raise FileNotFoundError(f"great-expectations suite {path} does not exist")
    return json.loads(path.read_text(encoding="utf-8"))


def suite_columns(document: dict[str, Any]) -> list[str]:
    """The columns a suite reads."""
    columns: list[str] = []
    for planned in plan_suite(document):
        for name in planned.columns:
            if name not in columns:
                columns.append(name)
    return columns


def placement_of(expectation_type: str, kwargs: dict[str, Any]) -> str:
    """Where an expectation runs best (the module's docstring says why)."""
    conditional = kwargs.get("row_condition") or kwargs.get("mostly", 1) not in (1, 1.0, None)
    if expectation_type in ROW_COUNT:
        return "sql"
    if conditional:
        return "pandas"
    if expectation_type in UNIQUE or expectation_type in REGEX:
        return "sql"
    if expectation_type in VALUE_WISE or expectation_type in NULL_WISE:
        return "profile"
    return "pandas"


def plan_suite(document: dict[str, Any]) -> list[PlannedExpectation]:
    return [
        PlannedExpectation(
            index=i,
            type=e["type"],
            kwargs=dict(e.get("kwargs", {})),
            placement=placement_of(e["type"], e.get("kwargs", {})),
        )
        for i, e in enumerate(document["expectations"])
    ]


def _frame_sql(planned: PlannedExpectation, relation: str, date_column: str | None) -> str:
    """The SQL of the frame GX judges for `planned`, one row group per date (`_date`)."""
    day = f"{quoted(date_column)}" if date_column else "null"
    columns = [quoted(c) for c in planned.columns]
    keys = ", ".join(columns)
    if planned.type in ROW_COUNT:
        return f"select {day} as {DATE}, count(*) as {WEIGHT} from {relation} group by all"
    if planned.type in UNIQUE:
        # ignore_row_if: GX's default for compound keys skips rows whose values are all null
        present = " or ".join(f"{c} is not null" for c in columns)
        repeats = (
            f"select {day} as {DATE}, {keys}, count(*) as n from {relation} "
            f"where {present} group by all having count(*) > 1"
        )
        return (
            f"select {DATE}, {keys}, case when copy = 0 then n else 0 end as {WEIGHT} "
            f"from ({repeats}) r, (select unnest([0, 1]) as copy) c "
            f"order by {DATE}, {keys}, copy"
        )
    if planned.placement == "sql" and planned.type in REGEX:
        (column,) = columns
        pattern = literal(str(planned.kwargs["regex"]))
        negate = "not " if planned.type == "expect_column_values_to_match_regex" else ""
        return (
            f"select {day} as {DATE}, {column}, count(*) as {WEIGHT} from {relation} "
            f"where {column} is not null and "
            f"{negate}regexp_matches(cast({column} as varchar), {pattern}) "
            "group by all order by all"
        )
    if planned.placement == "profile" and planned.type in NULL_WISE:
        (column,) = columns
        return (
            f"select {day} as {DATE}, any_value({column}) as {column}, count(*) as {WEIGHT} "
            f"from {relation} group by {day}, ({column} is null) order by all"
        )
    if planned.placement == "profile":
        return (
            f"select {day} as {DATE}, {keys}, count(*) as {WEIGHT} from {relation} "
            f"group by all order by all"
        )
    return f"select {day} as {DATE}, {keys}, 1 as {WEIGHT} from {relation}"


def _arrow_frame(table: Any) -> Any:
    """A pandas frame over Arrow buffers (9M rows in a fraction of a second, where `.df()`
    builds Python objects for seconds)."""
    import pandas as pd

    return table.to_pandas(types_mapper=pd.ArrowDtype)


_context_lock = threading.Lock()
_prefetch_started = threading.Event()


@cache
def _new_gx_context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("gates")
    source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("frame")
    return context


def _gx_context() -> Any:
    with _context_lock:  # one context per process, also when the prefetch is still importing
        return _new_gx_context()


def prefetch_gx() -> None:
    """Imports great-expectations in a background thread, once per process. The import alone
    takes about 7 s of Python; started while the loader's DuckDB scans run (they release the
    GIL), it is mostly done by the time the first gate needs it."""
    if _prefetch_started.is_set():
        return
    _prefetch_started.set()
    threading.Thread(target=_gx_context, name="gx-prefetch", daemon=True).start()


@cache
def _gx_suite(expectation_type: str, kwargs_json: str) -> Any:
    """A one-expectation suite, built once per process for each distinct expectation."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context = _gx_context()
    suite = gx.ExpectationSuite(name=f"gate_{len(context.suites.all())}")
    suite.add_expectation_configuration(
        ExpectationConfiguration(type=expectation_type, kwargs=json.loads(kwargs_json))
    )
    return context.suites.add(suite)


def gx_validate(
    expectation_type: str, kwargs: dict[str, Any], frame: Any, result_format: str = "SUMMARY"
) -> Any:
    """GX's verdict on one expectation over a frame (its ExpectationValidationResult)."""
    context = _gx_context()
    batch_definition = (
        context.data_sources.get("gates").get_asset("frame").get_batch_definition("frame")
    )
    suite = _gx_suite(expectation_type, json.dumps(kwargs, sort_keys=True, default=str))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": result_format})
    return result.results[0]


def gx_row_count(expectation_type: str, kwargs: dict[str, Any], rows: int) -> Any:
    """GX's verdict on a row count expectation for a table of `rows` rows, judged on one row
    that carries the count: the same bounds as the sum of a weight column (the suite's
    `expect_table_row_count_to_be_between` as `expect_column_sum_to_be_between`, `..._to_equal`
    as both bounds at its value). GX fingerprints a small frame's every row before judging it:
    a frame of 9M empty rows for a large day's events cost 0.8 s a verdict, for a count."""
    import pandas as pd

    if expectation_type == "expect_table_row_count_to_equal":
        bounds = {"min_value": kwargs["value"], "max_value": kwargs["value"]}
    else:
        bounds = {k: kwargs[k] for k in ROW_COUNT_BOUNDS if k in kwargs}
    frame = pd.DataFrame({WEIGHT: [rows]})
    return gx_validate("expect_column_sum_to_be_between", {"column": WEIGHT, **bounds}, frame)


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def _judge(planned: PlannedExpectation, frame: Any, rows: int) -> dict[str, Any] | None:
    """GX's verdict on the frame of one date: None when it passes, else the failure."""
    weights = frame[WEIGHT]
    reduced = planned.placement != "pandas"
    if planned.type in ROW_COUNT:
        result = gx_row_count(planned.type, planned.kwargs, int(weights.sum()))
    else:
        # a reduced frame's failure is counted in rows through the weights of its unexpected
        # indices (COMPLETE); a frame of the rows themselves has GX count them (SUMMARY)
        data = frame[planned.columns].reset_index(drop=True)
        result = gx_validate(
            planned.type, planned.kwargs, data, "COMPLETE" if reduced else "SUMMARY"
        )
    if result.success:
        return None
    details = result.result or {}
    unexpected = details.get("unexpected_count")
    indices = details.get("unexpected_index_list")
    if reduced and indices is not None and planned.type not in ROW_COUNT:
        unexpected = int(weights.reset_index(drop=True).iloc[list(indices)].sum())
    values = details.get("partial_unexpected_list") or []
    return {
        "expectation": planned.type,
        "column": ", ".join(planned.columns) or None,
        "placement": planned.placement,
        "unexpected_count": unexpected,
        "element_count": rows,
        "unexpected_values": [_plain(v) for v in values[:10]],
        "observed_value": _plain(details.get("observed_value")),
    }


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


def run_volume_expectation(rows: int, bounds: tuple[int, int]) -> dict[str, Any] | None:
    """GX's row-count expectation with bounds computed for this date; the failure or None."""
    kwargs = {"min_value": bounds[0], "max_value": bounds[1]}
    result = gx_row_count("expect_table_row_count_to_be_between", kwargs, rows)
    if result.success:
        return None
    return {
        "expectation": "expect_table_row_count_to_be_between (vs recent days)",
        "column": None,
        "placement": "sql",
        "unexpected_count": None,
        "element_count": rows,
        "unexpected_values": [],
        "observed_value": f"{rows} rows, expected {bounds[0]}..{bounds[1]}",
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
        "placement": "sql",
        "unexpected_count": None,
        "element_count": None,
        "unexpected_values": [],
        "observed_value": observed,
    }


def _recent_counts(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    date_column: str,
    dates: list[str],
    days: int,
) -> dict[str, int]:
    """Rows per date from `days` before the first date of the run to its last."""
    rows = con.execute(
        f"select cast({quoted(date_column)} as varchar), count(*) from {relation} "
        f"where {quoted(date_column)} between cast(? as date) - {int(days)} and cast(? as date) "
        "group by 1",
        [min(dates), max(dates)],
    ).fetchall()
    return dict(rows)


def evaluate_suite(
    con: duckdb.DuckDBPyConnection,
    document: dict[str, Any],
    relation: str,
    date_column: str | None = None,
    dates: list[str] | None = None,
    load_log_source: str | None = None,
) -> list[SuiteOutcome]:
    """Judges `relation` against a suite, each date of `dates` on its own (the whole relation
    when `dates` is empty). One query per expectation covers every date of the run."""
    dated = bool(dates and date_column)
    scope = relation
    if dated:
        listed = ", ".join(f"cast('{d}' as date)" for d in dates)
        scope = f"(select * from {relation} where {quoted(date_column)} in ({listed}))"
    keys: list[str | None] = list(dates) if dated else [None]
    count_sql = f"select {quoted(date_column) if dated else 'null'} as d, count(*) from {scope}"
    counts = {
        (str(d) if d is not None else None): n
        for d, n in con.execute(count_sql + " group by all").fetchall()
    }
    failures: dict[str | None, list[dict[str, Any]]] = {k: [] for k in keys}
    for planned in plan_suite(document):
        try:
            table = con.sql(_frame_sql(planned, scope, date_column if dated else None))
        except duckdb.Error:
            if planned.type not in REGEX:
                raise
            planned = replace(planned, placement="profile")  # a pattern RE2 cannot run
            table = con.sql(_frame_sql(planned, scope, date_column if dated else None))
        frame = _arrow_frame(table.to_arrow_table())
        row_wise = planned.placement != "pandas" and planned.type not in ROW_COUNT
        if len(keys) > 1 and row_wise and _judge(planned, frame, sum(counts.values())) is None:
            # GX judges each row of these frames on its own values (a value, a null, a repeat
            # of a key within its date, a value a pattern refused), so the frame of every date
            # passing passes each date: one verdict for a backfill's dates, not one per date
            # (a year: 114 expectations x 364 dates, about 8 minutes of GX). Any failure is
            # judged again date by date, to name the dates and count their rows.
            continue
        frame[DATE] = frame[DATE].astype("string") if dated else None
        by_date = dict(tuple(frame.groupby(DATE, sort=False, dropna=False))) if dated else {}
        for key in keys:
            part = by_date.get(key, frame.iloc[0:0]) if dated else frame
            failure = _judge(planned, part, counts.get(key, 0))
            if failure:
                failures[key].append(failure)
    rule = document.get("meta", {}).get("row_count_vs_recent_days") or {}
    if dated and rule:
        recent = _recent_counts(con, relation, date_column, list(dates), recent_days(document))
        for key in keys:
            day = _date(key)
            history = [
                n for d, n in recent.items() if 0 < (day - _date(d)).days <= recent_days(document)
            ]
            bounds = volume_bounds(document, history)
            failure = run_volume_expectation(counts.get(key, 0), bounds) if bounds else None
            if failure:
                failures[key].append(failure)
    if dated and load_log_source:
        for key in keys:
            failures[key].extend(load_log_failures(con, document, load_log_source, key))
    return [SuiteOutcome(key, counts.get(key, 0), not failures[key], failures[key]) for key in keys]


def recent_days(document: dict[str, Any]) -> int:
    """How many days before a date its volume rule compares the date's rows with."""
    rule = document.get("meta", {}).get("row_count_vs_recent_days") or {}
    return int(rule.get("days", 7))


def _date(text: str | None) -> Any:
    return dt.date.fromisoformat(str(text))


def describe_failure(failure: dict[str, Any]) -> str:
    where = f"({failure['column']})" if failure["column"] else ""
    if failure["unexpected_count"] is not None:
        values = failure.get("unexpected_values") or []
        sample = f", e.g. {values[:3]}" if values else ""
        return (
            f"{failure['expectation']}{where}: {failure['unexpected_count']} of "
            f"{failure['element_count']} rows{sample}"
        )
    return f"{failure['expectation']}{where}: observed {failure['observed_value']}"


def summarize(suite_name: str, outcomes: list[SuiteOutcome]) -> str:
    """One line for a gate's verdict: the dates held back, and the first one's failures."""
    failed = [o for o in outcomes if not o.success]
    if not failed:
        return f"{suite_name}: all {len(outcomes)} dates passed"
    held = ", ".join(o.date or "all dates" for o in failed)
    first = failed[0]
    details = "; ".join(describe_failure(f) for f in first.failures[:3])
    return (
        f"{suite_name}: {len(failed)} of {len(outcomes)} dates failed and are held back "
        f"({held}); {first.date or 'all dates'}: {details}"
    )


def build_gx_check(
    *,
    asset_key: dg.AssetKey,
    suite_name: str,
    table: str,
    date_column: str,
    description: str,
    on_failed_dates: Callable[[list[str | None]], None] | None = None,
    load_log_source: str | None = None,
    after_landed_gates: bool = False,
    rows_of_dates: Callable[[duckdb.DuckDBPyConnection, dt.date, dt.date], str] | None = None,
) -> dg.AssetChecksDefinition:
    """A blocking asset check that runs `expectations/<suite_name>.json` on each business date
    of the run (the whole table when the run has no partition) and records each date's
    outcome in the gate ledger. `on_failed_dates` lets the owner of a gated output withdraw
    what the failed dates must no longer show. `load_log_source`: the landing source whose
    load log the gate also reads for each date (`load_log_failures`). `after_landed_gates`: a
    gate on what was built from the landed data, which leaves the dates those gates held back
    (they are not in the marts) unjudged. `rows_of_dates`: a query of `table`'s rows of a range
    of dates that reads those dates alone (a raw view's date filter still opens every file of
    its history), used for the run's dates and the days before them its volume rule compares."""
    document = load_suite_document(suite_name)
    placements = {p.label: p.placement for p in plan_suite(document)}
    gate = f"gx_{suite_name}"

    @dg.asset_check(
        asset=asset_key,
        name=gate,
        blocking=True,
        description=description,
        required_resource_keys={"warehouse"},
        metadata={"suite": suite_name, "placements": placements},
    )
    def _gx_check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        started = time.perf_counter()
        dates = partition_dates(context)
        if dates and after_landed_gates:
            with context.resources.warehouse.connect(read_only=True) as con:
                held = failed_gates(con, dates, landed_data_only=True)
            for date in held:
                context.log.info(f"{suite_name} leaves {date} unjudged: it is held back")
            dates = [d for d in dates if d not in held]
            if not dates:
                return dg.AssetCheckResult(
                    passed=True,
                    description=f"{suite_name}: every date of the run is held back upstream",
                    metadata={"suite": suite_name, "dates_checked": 0},
                )
        # marts live on the engine dbt built them on; raw and audit always in the warehouse
        reading = (
            open_marts(load_settings())
            if table.startswith("marts.")
            else context.resources.warehouse.connect(read_only=True)
        )
        with reading as con:
            relation = table
            if dates and rows_of_dates:
                first = dt.date.fromisoformat(min(dates)) - dt.timedelta(days=recent_days(document))
                last = dt.date.fromisoformat(max(dates))
                relation = f"({rows_of_dates(con, first, last)})"
            outcomes = evaluate_suite(
                con, document, relation, date_column, dates, load_log_source=load_log_source
            )
        failed = [o for o in outcomes if not o.success]
        if dates:
            with context.resources.warehouse.connect() as con:
                record_gate_results(
                    con,
                    [
                        GateResult(
                            gate=gate,
                            asset=asset_key.to_user_string(),
                            business_date=o.date,
                            passed=o.success,
                            rows=o.rows,
                            failures=o.failures,
                        )
                        for o in outcomes
                        if o.date
                    ],
                    run_id=context.run.run_id,
                )
        if failed and on_failed_dates:
            on_failed_dates([o.date for o in failed])
        for outcome in failed:
            for failure in outcome.failures:
                context.log.error(
                    f"{suite_name} failed on {outcome.date or 'all dates'}: "
                    f"{describe_failure(failure)}"
                )
        # WARN lets the dates that passed go on (Dagster blocks downstream on ERROR only)
        severity = (
            dg.AssetCheckSeverity.WARN
            if failed and len(failed) < len(outcomes)
            else dg.AssetCheckSeverity.ERROR
        )
        return dg.AssetCheckResult(
            passed=not failed,
            severity=severity,
            description=summarize(suite_name, outcomes),
            metadata={
                "suite": suite_name,
                "dates_checked": len(outcomes),
                "rows_checked": sum(o.rows for o in outcomes),
                "failed_dates": dg.MetadataValue.json([o.date for o in failed]),
                "failures": dg.MetadataValue.json(
                    [{"date": o.date, **f} for o in failed for f in o.failures]
                ),
                "seconds": round(time.perf_counter() - started, 2),
            },
        )

    return _gx_check
