"""Keeping the warehouse's date-built tables in date order, on DuckDB.

A nightly build appends the few dates it rebuilds, so each of a table's row groups holds a few
days, and DuckDB's zone maps (each row group's min and max date) let a scan of those dates skip
the rest of the year. A build of many dates at once does not: a single-run backfill of a year
inserts it in parallel, in no order, and every row group then spans the whole year (measured on
the small simulated brand: all 79 row groups of int_sessions, 53 of fct_attribution). Every later
night then scans every row group for its few dates: day 365's dbt models took 14.7 s on one core
against 12.9 s with the same tables sorted by date, int_order_touches, int_journeys and
int_visitors_daily most of the difference.

So after a build of more than RUN_DATES dates, the tables of models built by date (meta
`clustered_by`, set by the macro incremental_by_date) whose row groups span most of the table's
dates are written again in date order: once per backfill, about 13 s for a year of int_sessions
(9.4M rows). A nightly build does not pay for the check (0.2 s on day 365), except the first one
on a warehouse that has never been checked (`audit.date_layout`): one backfilled before this
code. Spark needs none of this: its tables are partitioned by the same date column.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from orchestration.lib.sql import quoted, table_exists

# A build of more dates than this (a backfill, a catch-up after a long outage) is checked.
RUN_DATES = 7
# A table is sorted again when its median row group spans more than this share of its dates...
SCATTERED_SHARE = 0.5
# ...and those dates are at least this many days: a young table is scanned whole in any order.
MIN_RANGE_DAYS = 60
# A table of fewer row groups is read whole by any scan.
MIN_ROW_GROUPS = 4


@dataclass(frozen=True)
class DateLayout:
    """How a table's rows lie by date: its row groups, the median days one spans (max - min of
    the date column in the group), and the days between the table's first and last date."""

    row_groups: int
    median_span_days: float
    range_days: int

    @property
    def scattered(self) -> bool:
        return (
            self.row_groups >= MIN_ROW_GROUPS
            and self.range_days >= MIN_RANGE_DAYS
            and self.median_span_days > SCATTERED_SHARE * self.range_days
        )


def clustered_tables(manifest_nodes: Mapping[str, Mapping]) -> dict[str, str]:
    """`schema.table` -> date column of every model the dbt manifest says is kept by date."""
    tables = {}
    for node in manifest_nodes.values():
        column = (node.get("config", {}).get("meta") or {}).get("clustered_by")
        if node.get("resource_type") == "model" and column:
            tables[f"{node['schema']}.{node['alias'] or node['name']}"] = column
    return tables


def date_layout(con: duckdb.DuckDBPyConnection, table: str, column: str) -> DateLayout | None:
    """The layout of `table` (`schema.name`) by `column`, from DuckDB's row-group statistics;
    None for a table that does not exist or holds no dated row."""
    schema, name = table.split(".", 1)
    if not table_exists(con, schema, name):
        return None
    rows = con.execute(
        "select row_group_id, stats from pragma_storage_info(?) "
        "where column_name = ? and segment_type = 'DATE'",
        [f"{quoted(schema)}.{quoted(name)}", column],
    ).fetchall()
    # a row group of several segments has a statistics row for each: its span is all of them
    spans: dict[int, tuple[dt.date, dt.date]] = {}
    for group, stats in rows:
        if stats.get("min") is None:
            continue
        low, high = spans.get(group, (stats["min"], stats["max"]))
        spans[group] = (min(low, stats["min"]), max(high, stats["max"]))
    if not spans:
        return None
    first = min(low for low, _ in spans.values())
    last = max(high for _, high in spans.values())
    return DateLayout(
        row_groups=len(spans),
        median_span_days=statistics.median((high - low).days for low, high in spans.values()),
        range_days=(last - first).days,
    )


def cluster(
    con: duckdb.DuckDBPyConnection, tables: Mapping[str, str]
) -> dict[str, tuple[DateLayout, float]]:
    """Sorts by date every table of `tables` (`schema.table` -> date column) whose row groups
    are scattered over its dates; returns each one sorted, with its layout before and the
    seconds it took. The table is written again whole, with its columns and types."""
    done = {}
    for table, column in sorted(tables.items()):
        layout = date_layout(con, table, column)
        if layout is None or not layout.scattered:
            continue
        started = time.perf_counter()
        relation = ".".join(quoted(part) for part in table.split(".", 1))
        # ORDER BY at the top of the statement is kept whatever preserve_insertion_order says
        con.execute(
            f"create or replace table {relation} as "
            f"select * from {relation} order by {quoted(column)}"
        )
        done[table] = (layout, time.perf_counter() - started)
    return done


def layout_due(con: duckdb.DuckDBPyConnection, dates: int) -> bool:
    """Whether a build of `dates` business dates checks the layout: one of many dates, or the
    first on a warehouse never checked."""
    return dates > RUN_DATES or not table_exists(con, "audit", "date_layout")


def record_layout_check(con: duckdb.DuckDBPyConnection) -> None:
    """Notes in the warehouse that its layout was checked (and sorted where it had to be)."""
    con.execute("create schema if not exists audit")
    con.execute("create table if not exists audit.date_layout (checked_at timestamp)")
    con.execute("insert into audit.date_layout values (current_localtimestamp())")


def describe(done: Mapping[str, tuple[DateLayout, float]]) -> Iterable[str]:
    """One line per table `cluster` sorted, for the run's log."""
    for table, (layout, seconds) in sorted(done.items()):
        yield (
            f"{table} ({layout.row_groups} row groups, the median one spanning "
            f"{layout.median_span_days:.0f} of its {layout.range_days} days) in {seconds:.1f} s"
        )
