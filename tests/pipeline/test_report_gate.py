"""Gates hold back only the dates they fail: in a range where one date's landed orders fail
their gate and another date's orders fail the report's gate, the other dates get their marts
and their reports, the failed dates are named by `growth run`, and a later run of those dates
that passes puts them back."""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration.cli import execute
from tests.landing import order, write_all_sources, write_orders
from tests.test_cli import growth

D1, D2, D3, D4 = (dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(4))


def orders_of(day: dt.date, refund: float = 0.0) -> list[dict]:
    return [
        order(f"{day}-a", day, customer_id="C1"),
        order(f"{day}-b", day, customer_id="C2", store="tmall"),
        # a refund larger than the payment is loadable (both are valid amounts) but makes a
        # negative net revenue, which the report's gate must stop
        order(f"{day}-c", day, "refunded" if refund else "paid", customer_id="C3", refund=refund),
    ]


def drop_day(landing, day: dt.date, orders: list[dict]) -> None:
    write_all_sources(landing, day)  # every source drops a folder every day (sources.md)
    write_orders(landing, day, orders)


def report_files(settings, day: dt.date) -> list[str]:
    folder = settings.reports / day.isoformat()
    return sorted(p.name for p in folder.glob("evaluation.*")) if folder.exists() else []


def mart_dates(settings) -> set[str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("select distinct cast(date_day as varchar) from marts.fct_orders")
        return {d for (d,) in rows.fetchall()}
    finally:
        con.close()


def ledger(settings) -> dict[tuple[str, str], bool]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select gate, cast(business_date as varchar), passed from audit.gate_results"
        ).fetchall()
    finally:
        con.close()
    return {(gate, date): passed for gate, date, passed in rows}


def test_a_failed_date_is_held_back_and_the_others_go_on(growth_home):
    settings = growth_home
    landing = settings.landing
    drop_day(landing, D1, orders_of(D1))
    # D2: the order system exported an empty file (a valid gzip of no records)
    drop_day(landing, D2, [])
    # D3: a refund above its payment, which only the report's gate on the marts sees; and a
    # late re-report of an order paid on D2, which must not bring D2 into the marts
    late = order(f"{D2}-late", D2, customer_id="C4", updated_hour=23)
    drop_day(landing, D3, [*orders_of(D3, refund=150.0), late])
    drop_day(landing, D4, orders_of(D4))

    # `growth run --start D1 --end D4` (what it prints is these reasons; tests/test_cli.py
    # checks the CLI's own exit and sentence)
    ok, reasons = execute("daily_pipeline", D1, D4, settings)
    assert not ok
    # the failure names each gate and the date it held back
    assert any("gx_raw_orders" in r and f"held back ({D2})" in r for r in reasons), reasons
    assert any("gx_fct_orders" in r and f"held back ({D3})" in r for r in reasons), reasons
    # the dates that passed have their reports; the failed ones have none
    assert report_files(settings, D1) == ["evaluation.html", "evaluation.json"]
    assert report_files(settings, D4) == ["evaluation.html", "evaluation.json"]
    assert report_files(settings, D2) == [] and report_files(settings, D3) == []
    # the marts hold no row of the date whose landed data failed, not even a late one; the
    # report's gate judges marts already built, so D3 is there, without its report
    assert mart_dates(settings) == {D1.isoformat(), D3.isoformat(), D4.isoformat()}
    verdicts = ledger(settings)
    assert verdicts[("gx_raw_orders", D2.isoformat())] is False
    assert verdicts[("gx_raw_orders", D1.isoformat())] is True
    assert verdicts[("gx_fct_orders", D3.isoformat())] is False

    # rebuilding D3's report alone goes through the same gate, and the command says so
    result = growth("report", "--date", D3.isoformat())
    assert result.returncode != 0 and "gx_fct_orders" in result.stderr
    assert "Traceback" not in result.stderr
    assert report_files(settings, D3) == []

    # the exports are corrected and the two dates re-run: they pass and come back
    drop_day(landing, D2, orders_of(D2))
    drop_day(landing, D3, [*orders_of(D3), late])
    ok, reasons = execute("daily_pipeline", D2, D3, settings)
    assert ok, reasons
    assert report_files(settings, D2) == ["evaluation.html", "evaluation.json"]
    assert report_files(settings, D3) == ["evaluation.html", "evaluation.json"]
    assert mart_dates(settings) == {d.isoformat() for d in (D1, D2, D3, D4)}
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        late_rows = con.execute(
            "select cast(date_day as varchar) from marts.fct_orders where order_id = ?",
            [f"{D2}-late"],
        ).fetchall()
    finally:
        con.close()
    assert late_rows == [(D2.isoformat(),)]


def current_orders(settings) -> dict[str, str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("select order_id, status from intermediate.int_orders_classified")
        return dict(rows.fetchall())
    finally:
        con.close()


def test_an_order_its_folder_no_longer_holds_leaves_the_current_orders(growth_home):
    """int_orders_classified keeps each order's latest version and a daily run ranks only its
    own folders: a folder landed again without an order, or held back, must take back what it
    brought."""
    settings = growth_home
    refund = order(f"{D1}-a", D1, "refunded", customer_id="C1", refund=30.0, updated_hour=23)
    drop_day(settings.landing, D1, orders_of(D1))
    drop_day(settings.landing, D2, [*orders_of(D2), refund])
    ok, reasons = execute("daily_pipeline", D1, D2, settings)
    assert ok, reasons
    assert current_orders(settings)[f"{D1}-a"] == "refunded"

    # D2's export is corrected: no order c, and D1's order a was never refunded
    drop_day(settings.landing, D2, orders_of(D2)[:2])
    ok, reasons = execute("daily_pipeline", D2, D2, settings)
    assert ok, reasons
    assert current_orders(settings) == {
        f"{D1}-a": "paid", f"{D1}-b": "paid", f"{D1}-c": "paid",
        f"{D2}-a": "paid", f"{D2}-b": "paid",
    }  # fmt: skip
    assert f"{D2}-c" not in dict.fromkeys(mart_orders(settings))

    # D2's export is then empty: its gate fails, and the next run (D3's) holds D2 back, so
    # D2's orders leave with its date
    drop_day(settings.landing, D2, [])
    ok, _ = execute("daily_pipeline", D2, D2, settings)
    assert not ok
    drop_day(settings.landing, D3, orders_of(D3))
    ok, reasons = execute("daily_pipeline", D3, D3, settings)
    assert ok, reasons
    assert set(current_orders(settings)) == {
        f"{D1}-a", f"{D1}-b", f"{D1}-c", f"{D3}-a", f"{D3}-b", f"{D3}-c",
    }  # fmt: skip
    assert mart_dates(settings) == {D1.isoformat(), D3.isoformat()}


def mart_orders(settings) -> list[str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return [o for (o,) in con.execute("select order_id from marts.fct_orders").fetchall()]
    finally:
        con.close()
