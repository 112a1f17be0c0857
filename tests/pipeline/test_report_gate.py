"""A failed blocking gate withholds the report of its date, and `growth run` says which check."""

from __future__ import annotations

import datetime as dt

from orchestration.cli import execute
from tests.landing import order, write_all_sources, write_orders, write_products
from tests.test_cli import growth

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)


def drop_day(landing, day, refund: float = 0.0) -> None:
    write_all_sources(landing, day)  # every source drops a folder every day (sources.md)
    write_products(landing, day)
    write_orders(
        landing,
        day,
        [
            order(f"{day}-a", day, customer_id="C1"),
            order(f"{day}-b", day, customer_id="C2", store="tmall"),
            # a refund larger than the payment is loadable (both are valid amounts) but makes a
            # negative net revenue, which the report's gate must stop
            order(
                f"{day}-c", day, "refunded" if refund else "paid", customer_id="C3", refund=refund
            ),
        ],
    )


def report_files(settings, day):
    folder = settings.reports / day.isoformat()
    return sorted(p.name for p in folder.glob("evaluation.*")) if folder.exists() else []


def test_failing_gate_withholds_and_withdraws_the_report(growth_home):
    settings = growth_home
    drop_day(settings.landing, D1)
    drop_day(settings.landing, D2)
    ok, reasons = execute("daily_pipeline", D1, D2, settings)
    assert ok, reasons
    assert report_files(settings, D2) == ["evaluation.html", "evaluation.json"]

    # D2 is re-dropped with a refund above its payment: the re-run must fail on the gate,
    # name it, and leave no report for D2 (not even the earlier one).
    drop_day(settings.landing, D2, refund=150.0)
    result = growth("run", "--start", D2.isoformat())
    assert result.returncode != 0
    assert "gx_fct_orders" in result.stderr
    assert "Traceback" not in result.stderr
    assert report_files(settings, D2) == []
    # the other date's report, built from gated data, stays
    assert report_files(settings, D1) == ["evaluation.html", "evaluation.json"]

    # rebuilding the report alone goes through the same gate
    result = growth("report", "--date", D2.isoformat())
    assert result.returncode != 0 and "gx_fct_orders" in result.stderr
    assert report_files(settings, D2) == []
