"""The supply marts against the simulator's truth, on two months of one simulated brand: the
supply sources (and the orders the demand comes from) loaded by the project's loader, the
supply marts built by dbt on DuckDB, then compared with what the simulation really did."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from scipy.stats import spearmanr

from assets.ingest.loader import load_day, load_source_specs
from orchestration.simulator import simulate
from tests.dbt.conftest import run_dbt

START = dt.date(2026, 1, 5)
DAYS = 60  # ~60 closed purchase orders a supplier: enough to rank ten (45 days is not)
SOURCES = ("orders", "products", "inventory", "purchase_orders", "suppliers")
MARTS = "+mart_inventory_daily +mart_supplier_performance +mart_stockout_risk"


@pytest.fixture(scope="module")
def supply_warehouse(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("supply")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    truth = simulate(landing, START, DAYS, "small", seed=21)
    specs = load_source_specs()
    con = duckdb.connect(str(warehouse))
    try:
        for offset in range(DAYS):
            for source in SOURCES:
                day = START + dt.timedelta(days=offset)
                load_day(con, specs[source], landing, day, b"k", log_fn=lambda _: None)
    finally:
        con.close()
    # cautious: a test of a model this build leaves out (a relationship from fct_attribution
    # to fct_orders) is not run
    result = run_dbt(
        warehouse,
        root / "dbt",
        "build",
        "--select",
        MARTS,
        "--indirect-selection",
        "cautious",
        "--exclude-resource-type",
        "unit_test",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert json.loads((landing / "_truth.json").read_text()) == truth
    return warehouse, truth["supply"]


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_suppliers_ranked_by_on_time_rate_follow_their_true_lateness(supply_warehouse):
    warehouse, truth = supply_warehouse
    rows = query(
        warehouse,
        "select supplier_id, sum(purchase_orders), sum(on_time_orders) / sum(purchase_orders) "
        "from marts.mart_supplier_performance group by supplier_id "
        "having sum(purchase_orders) >= 10",
    )
    assert len(rows) >= 8
    on_time = [rate for _, _, rate in rows]
    lateness = [truth["suppliers"][supplier]["late_p"] for supplier, _, _ in rows]
    rho = spearmanr(on_time, lateness).statistic
    # the later a supplier truly is, the lower its on-time rate
    assert rho <= -0.8, rho


def test_the_injected_unreliable_supplier_has_the_highest_risk(supply_warehouse):
    warehouse, truth = supply_warehouse
    unreliable = truth["unreliable_supplier"]
    overall = query(
        warehouse,
        "select supplier_id, sum(risk_score * purchase_orders) / sum(purchase_orders), "
        "sum(otif_orders) / sum(purchase_orders), avg(lateness_risk) "
        "from marts.mart_supplier_performance group by supplier_id order by 2 desc",
    )
    assert overall[0][0] == unreliable
    # on its behaviour alone, not only its master data: the least OTIF and the most lateness
    assert min(overall, key=lambda r: r[2])[0] == unreliable
    assert max(overall, key=lambda r: r[3])[0] == unreliable
    # and in every month it closed at least ten orders in
    monthly = query(
        warehouse,
        "select month_start, supplier_id from marts.mart_supplier_performance "
        f"where month_start in (select month_start from marts.mart_supplier_performance "
        f"where supplier_id = '{unreliable}' and purchase_orders >= 10) "
        "qualify row_number() over (partition by month_start order by risk_score desc) = 1",
    )
    assert monthly and {supplier for _, supplier in monthly} == {unreliable}


def test_the_stock_outs_the_simulation_caused_are_flagged_on_their_days(supply_warehouse):
    warehouse, truth = supply_warehouse
    caused = Counter((date, sku) for date, _, sku in truth["stockouts"])
    assert len(caused) > 100
    flagged = {
        (date.isoformat(), sku): warehouses
        for date, sku, warehouses in query(
            warehouse,
            "select date_day, sku_id, stockout_warehouses from marts.mart_inventory_daily "
            "where is_stockout",
        )
    }
    # every stock-out on its day, in as many warehouses, and no flag the simulation did not cause
    assert flagged == dict(caused)


def test_skus_below_their_suppliers_lead_time_are_listed_with_the_gap(supply_warehouse):
    warehouse, truth = supply_warehouse
    rows = query(
        warehouse,
        "select r.supplier_id = p.supplier_id, r.gap_days, r.lead_time_days - r.days_of_supply, "
        "r.days_of_supply < r.lead_time_days "
        "from marts.mart_stockout_risk r join marts.dim_products p using (sku_id)",
    )
    assert rows
    assert all(same and below and gap == pytest.approx(diff) for same, gap, diff, below in rows)
    # the unreliable supplier's SKUs run short most: the largest share of their SKU-days at risk
    by_supplier = query(
        warehouse,
        "select i.supplier_id, count(r.sku_id) / count(*) from marts.mart_inventory_daily i "
        "left join marts.mart_stockout_risk r using (date_day, sku_id) "
        "group by i.supplier_id order by 2 desc limit 1",
    )
    assert by_supplier[0][0] == truth["unreliable_supplier"]
