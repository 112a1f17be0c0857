"""`growth throttle`: a day's fatigue throttle list as a CSV for a CRM import, pseudonymous
(customer keys only), from marts.mart_crm_fatigue."""

from __future__ import annotations

import csv
import datetime as dt

import duckdb

from tests.test_cli import assert_one_clear_sentence, growth


def fatigue_warehouse(path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute(
            "create table marts.mart_crm_fatigue (date_day date, customer_key varchar, "
            "touches bigint, streak_start_date date, consecutive_days integer, throttle boolean)"
        )
        con.executemany("insert into marts.mart_crm_fatigue values (?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()


def test_throttle_writes_the_days_throttled_customer_keys(growth_home, tmp_path):
    fatigue_warehouse(
        growth_home.warehouse,
        [
            (dt.date(2026, 3, 8), "k1", 1, dt.date(2026, 3, 1), 8, True),
            (dt.date(2026, 3, 8), "k2", 2, dt.date(2026, 3, 2), 7, True),
            (dt.date(2026, 3, 8), "k3", 1, dt.date(2026, 3, 3), 6, False),
            (dt.date(2026, 3, 7), "k4", 1, dt.date(2026, 3, 1), 7, True),
        ],
    )
    out = tmp_path / "import" / "throttle.csv"
    result = growth("throttle", "--date", "2026-03-08", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "2 customers to throttle on 2026-03-08" in result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["customer_key"], r["consecutive_days"]) for r in rows] == [("k1", "8"), ("k2", "7")]
    assert set(rows[0]) == {"date_day", "customer_key", "consecutive_days", "streak_start_date"}
    assert {r["date_day"] for r in rows} == {"2026-03-08"}
    assert not out.with_name(out.name + ".partial").exists()


def test_throttle_on_a_day_nobody_is_tired_writes_a_header_only(growth_home):
    fatigue_warehouse(
        growth_home.warehouse, [(dt.date(2026, 3, 8), "k3", 1, dt.date(2026, 3, 3), 6, False)]
    )
    result = growth("throttle", "--date", "2026-03-08")
    assert result.returncode == 0, result.stderr
    out = growth_home.home / "crm" / "throttle-2026-03-08.csv"
    assert result.stdout.strip() == str(out)
    assert out.read_text(encoding="utf-8").splitlines() == [
        "date_day,customer_key,consecutive_days,streak_start_date"
    ]


def test_throttle_without_the_mart_says_so_in_one_sentence(growth_home):
    duckdb.connect(str(growth_home.warehouse)).close()
    assert_one_clear_sentence(
        growth("throttle", "--date", "2026-03-08"), "mart_crm_fatigue does not exist yet"
    )
    assert_one_clear_sentence(growth("throttle", "--date", "8 March"), "not a date")
