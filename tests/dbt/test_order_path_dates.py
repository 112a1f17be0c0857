"""The order dates whose touch paths a daily run restates (macro order_path_dates): asked of
int_rebuilt_dates at run time and written as literals, so the scans of the orders reach those
dates only. They must be the dates whose orders changed (or whose first orders moved), and
every date from the earliest restated event date on: a late touch joins the paths of the
orders after it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from tests.dbt.conftest import show_rows

RUN = '{"start_date": "2026-03-07", "end_date": "2026-03-07"}'
DATES = (
    "select cast(d as date) as d "
    "from range(date '2026-02-25', date '2026-03-10', interval 1 day) as days(d)"
)


def _path_dates(dbt: Callable, tmp_path: Path, rebuilt: list[tuple[str, str]]) -> list[str]:
    """The dates of 2026-02-25..2026-03-09 that order_path_dates keeps, in a daily run whose
    int_rebuilt_dates holds `rebuilt` (date, reason)."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists intermediate")
        con.execute(
            "create or replace table intermediate.int_rebuilt_dates (date_day date, reason varchar)"
        )
        con.executemany("insert into intermediate.int_rebuilt_dates values (?, ?)", rebuilt)
    query = (
        f"select cast(d as varchar) as d from ({DATES}) as days "
        "where {{ order_path_dates('d') }} order by 1"
    )
    return [row["d"] for row in show_rows(dbt, warehouse, query, "--vars", RUN)]


def test_the_restated_orders_dates_and_every_date_from_the_first_restated_event_on(tmp_path, dbt):
    rebuilt = [
        ("2026-02-27", "orders"),
        ("2026-03-02", "first_orders"),
        ("2026-03-06", "events"),
        ("2026-03-07", "events"),
        ("2026-02-26", "ads"),  # no order's path changes with an ad report
        ("2026-03-01", "shipments"),
    ]
    assert _path_dates(dbt, tmp_path, rebuilt) == [
        "2026-02-27",
        "2026-03-02",
        "2026-03-06",
        "2026-03-07",
        "2026-03-08",
        "2026-03-09",
    ]


def test_without_a_restated_event_only_the_restated_orders_dates(tmp_path, dbt):
    rebuilt = [("2026-03-03", "orders"), ("2026-03-05", "ads")]
    assert _path_dates(dbt, tmp_path, rebuilt) == ["2026-03-03"]
