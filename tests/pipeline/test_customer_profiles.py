"""dim_customers and int_customer_profiles are kept per customer: a daily run rebuilds only the
customers its folders touch (a CRM version, an erasure, a first order). Whatever the nights
bring, a CRM folder landed again without a customer included, the kept rows must be the rows a
full build of the same landing zone gives."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb

from orchestration.cli import execute
from tests.dbt.conftest import run_dbt
from tests.landing import customer, order, write_all_sources, write_jsonl_file, write_orders

D1, D2, D3 = (dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(3))
COLUMNS = (
    "customer_key, is_erased, tier, first_order_date, acquisition_channel, profile_landed_date"
)


def land(settings, day: dt.date, customers: list[dict], orders: list[dict]) -> None:
    write_all_sources(settings.landing, day)  # every source drops a folder every day
    write_jsonl_file(settings.landing, "customers", day, "customers.jsonl", customers)
    write_orders(settings.landing, day, orders)


def dimension(warehouse) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select {COLUMNS} from marts.dim_customers order by all").fetchall()
    finally:
        con.close()


def keys(warehouse) -> dict[str, str]:
    """The customer_key of each CRM id, read back from the raw lake (the CRM's and the orders')."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select customer_id, customer_key from raw.customers "
            "union select customer_id, customer_key from raw.orders where customer_id is not null"
        )
        return dict(rows.fetchall())
    finally:
        con.close()


def rebuilt_whole(settings, tmp_path) -> list[tuple]:
    """dim_customers as a full build of the same warehouse gives it."""
    copy = tmp_path / "full" / "warehouse.duckdb"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(settings.warehouse, copy)
    built = run_dbt(
        copy, tmp_path / "full", "run", "--full-refresh",
        "--select", "int_customer_profiles", "dim_customers",
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:]
    return dimension(copy)


def test_kept_customers_follow_new_versions_erasures_and_a_folder_landed_again(
    growth_home, tmp_path
):
    settings = growth_home
    land(settings, D1, [customer("C1", D1), customer("C2", D1, member_tier="gold")],
         [order(f"{D1}-a", D1, customer_id="C1")])  # fmt: skip
    land(settings, D2, [customer("C1", D2, member_tier="platinum")],
         [order(f"{D2}-a", D2, customer_id="C3")])  # fmt: skip
    ok, reasons = execute("daily_pipeline", D1, D2, settings)
    assert ok, reasons

    # D3: C1 steps down to gold, C2 asks to be erased, C6 registers and buys, C7 only registers
    night = [
        customer("C1", D3, member_tier="gold"),
        customer("C2", D3, deleted=True),
        customer("C6", D3),
        customer("C7", D3, member_tier="none"),
    ]
    land(settings, D3, night, [order(f"{D3}-a", D3, customer_id="C6")])
    ok, reasons = execute("daily_pipeline", D3, D3, settings)
    assert ok, reasons
    key = keys(settings.warehouse)
    kept = {row[0]: row for row in dimension(settings.warehouse)}
    assert kept[key["C1"]][2] == "gold" and kept[key["C1"]][5] == D3
    assert kept[key["C2"]][1:] == (True, None, None, None, None)
    assert kept[key["C6"]][2:4] == ("silver", D3)
    assert kept[key["C7"]][2:] == ("none", None, None, D3)
    assert kept[key["C3"]][2:4] == (None, D2)  # a buyer the CRM never sent
    assert dimension(settings.warehouse) == rebuilt_whole(settings, tmp_path / "night")

    # D2's and D3's exports are corrected and land again. D2: the platinum record was C8's, not
    # C1's, and the order was C1's, not C3's (C3, whom only that order made a customer,
    # leaves). D3: C1 never stepped down, C6 and C7 never registered (C6 still bought), the
    # erasure stays. C1's latest version is then D1's, from a folder the run does not read
    land(settings, D2, [customer("C8", D2, member_tier="platinum")],
         [order(f"{D2}-b", D2, customer_id="C1")])  # fmt: skip
    land(settings, D3, [customer("C2", D3, deleted=True)], [order(f"{D3}-a", D3, customer_id="C6")])
    ok, reasons = execute("daily_pipeline", D2, D3, settings)
    assert ok, reasons
    kept = {row[0]: row for row in dimension(settings.warehouse)}
    assert kept[key["C1"]][2] == "silver" and kept[key["C1"]][5] == D1
    c6 = kept[key["C6"]]
    assert (c6[2], c6[3], c6[5]) == (None, D3, None)
    assert key["C7"] not in kept and key["C3"] not in kept
    assert kept[key["C2"]][1] is True
    assert dimension(settings.warehouse) == rebuilt_whole(settings, tmp_path / "again")
