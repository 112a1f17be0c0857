"""A day's fatigue throttle list (marts.mart_crm_fatigue) as a CSV a CRM imports.

Pseudonymous by construction: the file holds `customer_key` (the keyed hash the CRM can match
with the same secret), never a phone, unionid or raw customer id.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb

COLUMNS = ("date_day", "customer_key", "consecutive_days", "streak_start_date")


class NoFatigueMart(RuntimeError):
    """The warehouse has no marts.mart_crm_fatigue (the pipeline has not built it)."""


def throttle_list(con: duckdb.DuckDBPyConnection, day: dt.date) -> list[tuple]:
    """The customers to throttle on `day`, longest streak first (a stable order, so the
    same day always writes the same file)."""
    try:
        return con.execute(
            f"select {', '.join(COLUMNS)} from marts.mart_crm_fatigue "
            "where date_day = ? and throttle order by consecutive_days desc, customer_key",
            [day],
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise NoFatigueMart(
            "marts.mart_crm_fatigue does not exist yet: run `growth run` first"
        ) from exc


def write_throttle_csv(con: duckdb.DuckDBPyConnection, day: dt.date, out: Path) -> int:
    """Writes `day`'s throttle list to `out` (UTF-8, header row) and returns its row count.
    Written to a temporary file first, so an importer never reads half a list."""
    rows = throttle_list(con, day)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                value.isoformat() if isinstance(value, dt.date) else value for value in row
            )
    partial.replace(out)
    return len(rows)
