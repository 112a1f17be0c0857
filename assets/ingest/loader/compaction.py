"""Compaction of the raw lake: a closed month's daily data files, read as one file.

A source lands a folder a day, so after a year its view lists 365 small data files, and every
model that reads its whole history opens them all: a survey's or a supplier's year of a few
thousand rows took 0.04-0.1 s a read in file overhead alone, some thirty reads a night (0.7 s
of a day-365 dbt build, measured against the same rows in monthly files). A month whose last
date is `CLOSED_AFTER_DAYS` behind the source's latest landed date is written once as one
Parquet file, with each row's business date and line, and the view reads that file instead of
the month's daily files.

The daily files stay where they are and stay the truth: loads, gates, the erasure scans, the
Spark views (through the manifest) and every scoped read open them as before. A month file is
a copy that stands for exactly the daily files it was written from (`lake.compactions.members`).
When a date of the month is loaded again, its daily files change, the month file no longer
stands for them, and the view goes back to the daily files (lake._forget_stale_compactions)
until the month is compacted again at the end of the load. Correctness never depends on it.

A source that carries erasure requests is never compacted: an erasure rewrites the data files
holding a subject's personal data, and a copy of them would be one more file to purge.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb

from assets.ingest.loader.lake import (
    PARQUET_OPTIONS,
    _compactions,
    _refresh_view,
    _remove_unreferenced,
    ensure_tables,
    journal_write,
    lake_path,
    raw_lake,
)
from assets.ingest.loader.specs import SourceSpec
from assets.ingest.loader.sql import _lit
from orchestration.lib.sql import transaction

# Late corrections re-land a folder within days of its date; a month compacted sooner would be
# written again for each of them.
CLOSED_AFTER_DAYS = 7
COMPACTED_FOLDER = "_compacted"  # outside <table>/<date>/<version>/, where the Spark view globs


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def compact_closed_months(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    log_fn: Callable[[str], None] | None = None,
) -> list[dt.date]:
    """Writes a month file for each closed month of `spec`'s lake that has none standing for
    its current daily files, and points the raw view at them. Returns the months compacted."""
    if not spec.compact_months:
        return []
    lake = raw_lake(con)
    ensure_tables(con, spec)
    files = con.execute(
        "select business_date, data_path from lake.data_files where source = ? "
        "order by business_date, file",
        [spec.name],
    ).fetchall()
    if not files:
        return []
    closed_before = files[-1][0] - dt.timedelta(days=CLOSED_AFTER_DAYS)
    months: dict[dt.date, list[str]] = {}
    for day, path in files:
        month = day.replace(day=1)
        if _month_end(month) <= closed_before:
            months.setdefault(month, []).append(path)
    standing = {frozenset(members) for _, members in _compactions(con, spec)}
    due = {
        month: paths
        for month, paths in months.items()
        if len(paths) > 1 and frozenset(paths) not in standing
    }
    if not due:
        return []
    written: list[tuple[str, dt.date, str, list[str]]] = []
    for month, paths in sorted(due.items()):
        folder = lake / COMPACTED_FOLDER / spec.table / f"{month:%Y-%m}" / uuid.uuid4().hex[:12]
        journal_write(con, spec, lake, folder)
        folder.mkdir(parents=True)
        target = folder / f"{spec.table}-{month:%Y-%m}.parquet"
        listed = ", ".join(_lit(str(lake_path(lake, p))) for p in paths)
        # Listed in date and file order and read in that order (insertion order is kept), so
        # the file is sorted by date without a sort. `_line` is kept as it was in its daily
        # file: the dropped duplicates are recorded by it. The invalid records (the view's
        # `_reason is null`) stay in the daily files only.
        con.execute("set preserve_insertion_order = true")
        con.execute(
            f"copy (select * exclude (file_row_number, _quarantine_record), "
            f"file_row_number + 1 as _line "
            f"from read_parquet([{listed}], file_row_number = true, union_by_name = true) "
            f"where _reason is null) to {_lit(str(target))} ({PARQUET_OPTIONS})"
        )
        written.append((spec.name, month, target.relative_to(lake).as_posix(), sorted(paths)))
    with transaction(con):
        con.executemany(
            "delete from lake.compactions where source = ? and month = ?",
            [[source, month] for source, month, *_ in written],
        )
        con.executemany("insert into lake.compactions values (?, ?, ?, ?)", written)
        _refresh_view(con, spec, lake)
    _remove_unreferenced(con, spec, lake)  # the month files these replaced
    if log_fn:
        log_fn(
            f"{spec.name}: compacted {', '.join(f'{m:%Y-%m}' for _, m, *_ in written)} "
            f"({sum(len(due[m]) for _, m, *_ in written)} daily files)"
        )
    return [month for _, month, *_ in written]


def compacted_files(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> list[Path]:
    """The month files standing in the raw view of `spec` (absolute paths)."""
    lake = raw_lake(con)
    return [lake_path(lake, path) for path, _ in _compactions(con, spec)]
