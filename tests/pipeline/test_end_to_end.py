"""Seven simulated days through Dagster: fct_orders agrees with the simulator's truth (also
for dates restated by a later day's folder), the report is written, and re-running the same
dates leaves the marts byte-for-byte equal."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pytest

from orchestration.cli import execute
from orchestration.simulator import simulate

START = dt.date(2026, 3, 1)
DAYS = 7
END = START + dt.timedelta(days=DAYS - 1)


def mart_digest(warehouse, table: str) -> str:
    """A digest of a mart's full content in a stable order: equal digests, equal marts."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(f"select * from marts.{table} order by all").fetchall()
    finally:
        con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def late_restatements(landing, day: dt.date) -> set[str]:
    """Payment dates (before `day`) of orders that `day`'s folder re-reports."""
    con = duckdb.connect()
    rows = con.execute(
        "select distinct cast(cast(paid_at as timestamptz) at time zone 'Asia/Shanghai' as date) "
        f"from read_json('{landing}/orders/{day}/orders.jsonl.gz') where paid_at is not null"
    ).fetchall()
    con.close()
    return {d.isoformat() for (d,) in rows if d < day}


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory, request):
    """One simulated landing zone, run once through daily_pipeline (shared by the tests)."""
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    home = tmp_path_factory.mktemp("e2e") / "growth"
    for var in ("GROWTH_LANDING", "GROWTH_WAREHOUSE", "GROWTH_SERVING", "GROWTH_REPORTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GROWTH_HOME", str(home))
    monkeypatch.setenv("GROWTH_PII_KEY", "e2e-key")
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    from orchestration.settings import load_settings

    settings = load_settings()
    truth = simulate(settings.landing, START, DAYS, scale="small", seed=11)
    # Six days as a backfill, then the last day alone, as the nightly run would: the last
    # day's folder re-reports earlier orders (payments, refunds), which must restate the
    # dates those orders were paid on.
    ok, reasons = execute("daily_pipeline", START, END - dt.timedelta(days=1), settings)
    assert ok, reasons
    ok, reasons = execute("daily_pipeline", END, END, settings)
    assert ok, reasons
    return settings, truth


def test_fct_orders_matches_the_simulators_truth(simulated_run):
    settings, truth = simulated_run
    restated = late_restatements(settings.landing, END)
    assert restated, "the last folder should re-report orders paid on earlier dates"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        """
        select date_day, count(*), sum(gmv), sum(net_revenue),
               count(*) filter (where is_first_order)
        from marts.fct_orders group by 1 order by 1
        """
    ).fetchall()
    con.close()
    warehouse = {r[0].isoformat(): r[1:] for r in rows}
    for day, expected in truth["daily"].items():
        orders, gmv, net_revenue, new_customers = warehouse[day]
        assert orders == expected["orders"], day
        assert float(gmv) == pytest.approx(expected["gmv"], abs=0.01), day
        assert float(net_revenue) == pytest.approx(expected["net_revenue"], abs=0.01), day
        assert new_customers == expected["new_customers"], day
    assert sum(v["orders"] for v in truth["daily"].values()) > DAYS * 100


def test_marts_show_their_row_counts_in_dagster(simulated_run):
    import dagster as dg

    settings, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    expected = con.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    con.close()
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("fct_orders"))
    assert event.asset_materialization.metadata["dagster/row_count"].value == expected


def test_marketplace_orders_take_their_stores_channel(simulated_run):
    settings, truth = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "select order_id, channel from marts.fct_orders "
        "where store in ('tmall', 'jd', 'pinduoduo', 'douyin_shop')"
    ).fetchall()
    con.close()
    assert rows
    mismatched = [o for o, channel in rows if truth["orders"][o]["channel"] != channel]
    assert not mismatched


def test_reports_exist_for_every_date_with_figures_from_the_marts(simulated_run):
    settings, truth = simulated_run
    for offset in range(DAYS):
        day = (START + dt.timedelta(days=offset)).isoformat()
        folder = settings.reports / day
        data = json.loads((folder / "evaluation.json").read_text())
        assert data["kpis"]["orders"] == truth["daily"][day]["orders"]
        html = (folder / "evaluation.html").read_text()
        assert "<svg" in html and day in html


def test_no_personal_data_in_marts_or_reports(simulated_run):
    settings, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    columns = {
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts'"
        ).fetchall()
    }
    con.close()
    assert not columns & {"phone", "wechat_unionid", "customer_id", "buyer_ref", "anonymous_id"}


def test_rerunning_the_same_dates_leaves_the_marts_identical(simulated_run):
    settings, _ = simulated_run
    before = {t: mart_digest(settings.warehouse, t) for t in ("fct_orders", "dim_products")}
    report_before = (settings.reports / END.isoformat() / "evaluation.json").read_bytes()
    ok, reasons = execute("daily_pipeline", START, END, settings)
    assert ok, reasons
    after = {t: mart_digest(settings.warehouse, t) for t in ("fct_orders", "dim_products")}
    assert before == after
    assert (settings.reports / END.isoformat() / "evaluation.json").read_bytes() == report_before


def test_serving_copy_holds_the_marts_only(simulated_run):
    settings, _ = simulated_run
    con = duckdb.connect(str(settings.serving), read_only=True)
    schemas = {
        s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()
    }
    count = con.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    con.close()
    assert schemas == {"marts"}
    assert count > 0
