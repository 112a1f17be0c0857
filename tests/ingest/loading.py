"""Loading hand-written days the way every ingestion test does: the project's loader, a fixed
key, and on each load the two checks that must always hold (each file reconciles, and the load
log says what the load returned)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from assets.ingest.loader import DayResult, load_day, load_source_specs

KEY = b"unit-test-key"
SPECS = load_source_specs()


def load(con: duckdb.DuckDBPyConnection, landing: Path, source: str, day: dt.date) -> DayResult:
    result = load_day(con, SPECS[source], landing, day, KEY, log_fn=lambda _: None)
    for file in result.files:
        assert file.reconciles(), file
    logged = con.execute(
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined), "
        "sum(duplicates_dropped) from audit.load_log where source = ? and business_date = ?",
        [source, day],
    ).fetchall()[0]
    assert logged == (
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
        result.duplicates_dropped,
    )
    return result


def table(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()
