"""Change feeds across days: the staging view of each feed shows a record's newest version.

The loader keeps one row per key and landing folder; which of a key's folders wins is the
staging model's call (dbt_project/macros/versions.sql). Three days are loaded with the
project's own loader, each key in three shapes:
- `newer`: a newer version arrives on each later day (the newest is on the last day);
- `late`: the newest version arrives first and an older one on a later day (out of order);
- `tie`: the same version time on two days, corrected on the later one (the later folder wins).
Each key's versions differ, so reading the days in either order would pick a different row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from assets.ingest.loader import load_day, load_source_specs
from tests.dbt.conftest import run_dbt
from tests.landing import (
    customer,
    purchase_order_row,
    shipment_row,
    touch_row,
    write_jsonl_file,
    write_source_csv,
)

D1, D2, D3 = (dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(3))
KEY = b"staging-test-key"

# One version of a record per (key, day): what each day's folder reports.
SHIPMENTS = {
    D1: [
        shipment_row(D1, "newer", status="created", updated_at="2026-03-01 10:00:00"),
        shipment_row(
            D1,
            "late",
            status="delivered",
            shipped_at="2026-03-01 12:00:00",
            delivered_at="2026-03-01 18:00:00",
            updated_at="2026-03-01 18:00:00",
        ),
        shipment_row(D1, "tie", status="in_transit", updated_at="2026-03-01 12:00:00"),
    ],
    D2: [
        shipment_row(
            D1,
            "newer",
            status="in_transit",
            shipped_at="2026-03-02 08:00:00",
            updated_at="2026-03-02 08:00:00",
        ),
        # the logistics system re-sends an older status after the delivery
        shipment_row(
            D1,
            "late",
            status="in_transit",
            shipped_at="2026-03-01 12:00:00",
            updated_at="2026-03-01 12:00:00",
        ),
        shipment_row(D1, "tie", status="exception", updated_at="2026-03-01 12:00:00"),
    ],
    D3: [
        shipment_row(
            D1,
            "newer",
            status="delivered",
            shipped_at="2026-03-02 08:00:00",
            delivered_at="2026-03-03 15:00:00",
            updated_at="2026-03-03 15:00:00",
        ),
    ],
}
PURCHASE_ORDERS = {
    D1: [
        purchase_order_row(D1, "newer", status="open", updated_at="2026-03-01 09:00:00"),
        purchase_order_row(
            D1, "late", status="received", qty_received=500, updated_at="2026-03-01 16:00:00"
        ),
        purchase_order_row(D1, "tie", status="open", updated_at="2026-03-01 09:00:00"),
    ],
    D2: [
        purchase_order_row(
            D1, "newer", status="partial", qty_received=200, updated_at="2026-03-02 11:00:00"
        ),
        purchase_order_row(D1, "late", status="open", updated_at="2026-03-01 09:00:00"),
        purchase_order_row(D1, "tie", status="cancelled", updated_at="2026-03-01 09:00:00"),
    ],
    D3: [
        purchase_order_row(
            D1, "newer", status="received", qty_received=500, updated_at="2026-03-03 14:00:00"
        ),
    ],
}
# No updated_at: engagement only moves forward, so the most advanced report is the newest
# (latest click, then latest open, then delivery: sources.yml `latest_by`).
TOUCHES = {
    D1: [
        touch_row(D1, "newer", delivered=0),
        touch_row(D1, "late", opened_at="2026-03-01 12:00:00", clicked_at="2026-03-01 12:01:00"),
        touch_row(D1, "tie", content_type="coupon"),
        touch_row(D1, "delivery", delivered=0),
        touch_row(D1, "reopened", opened_at="2026-03-01 12:00:00"),
        touch_row(
            D1, "reclicked", opened_at="2026-03-01 12:00:00", clicked_at="2026-03-01 12:01:00"
        ),
    ],
    D2: [
        touch_row(D1, "newer", opened_at="2026-03-02 08:00:00"),
        # a stale report of the touch, from before it was opened
        touch_row(D1, "late", delivered=1),
        touch_row(D1, "tie", content_type="new_product"),
        touch_row(D1, "delivery", delivered=1),
        touch_row(D1, "reopened", opened_at="2026-03-02 15:00:00"),
        touch_row(
            D1, "reclicked", opened_at="2026-03-01 12:00:00", clicked_at="2026-03-02 16:00:00"
        ),
    ],
    D3: [
        touch_row(D1, "newer", opened_at="2026-03-02 08:00:00", clicked_at="2026-03-03 09:30:00"),
    ],
}
CUSTOMERS = {
    D1: [
        customer("newer", D1, hour=9, member_tier="none"),
        customer("late", D1, hour=15, member_tier="gold"),
        customer("tie", D1, hour=9, member_tier="none"),
    ],
    D2: [
        customer("newer", D2, hour=9, member_tier="silver"),
        # the CRM re-sends the record as it was before the upgrade
        customer("late", D1, hour=9, member_tier="silver"),
        customer("tie", D1, hour=9, member_tier="platinum"),
    ],
    D3: [customer("newer", D3, hour=9, member_tier="gold")],
}


def write_day(landing: Path, day: dt.date) -> None:
    write_source_csv(landing, "shipments", day, SHIPMENTS[day])
    write_source_csv(landing, "purchase_orders", day, PURCHASE_ORDERS[day])
    write_source_csv(landing, "crm_touches", day, TOUCHES[day])
    write_jsonl_file(landing, "customers", day, "customers.jsonl", CUSTOMERS[day])


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """Three days loaded in date order, then the four staging views built by dbt."""
    root = tmp_path_factory.mktemp("staging")
    landing, warehouse = root / "landing", root / "w.duckdb"
    specs = load_source_specs()
    con = duckdb.connect(str(warehouse))
    try:
        for day in (D1, D2, D3):
            write_day(landing, day)
            for source in ("shipments", "purchase_orders", "crm_touches", "customers"):
                load_day(con, specs[source], landing, day, KEY, log_fn=lambda _: None)
        # the loader keeps every folder's version: the choice is left to staging
        versions = con.execute("select count(*) from raw.shipments").fetchall()[0][0]
        assert versions == sum(len(rows) for rows in SHIPMENTS.values())
    finally:
        con.close()
    models = [
        "stg_shipments__shipments",
        "stg_purchase_orders__purchase_orders",
        "stg_crm_touches__touches",
        "stg_customers__customers",
    ]
    result = run_dbt(warehouse, root / "dbt", "run", "--select", *models)
    assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, tuple]:
    return {key: tuple(values) for key, *values in con.execute(sql).fetchall()}


def test_the_newest_shipment_version_wins_across_days(staged):
    assert rows(staged, "select shipment_id, status from staging.stg_shipments__shipments") == {
        "newer": ("delivered",),
        "late": ("delivered",),
        "tie": ("exception",),
    }


def test_the_newest_purchase_order_version_wins_across_days(staged):
    sql = "select po_id, status, qty_received from staging.stg_purchase_orders__purchase_orders"
    assert rows(staged, sql) == {
        "newer": ("received", 500),
        "late": ("received", 500),
        "tie": ("cancelled", 0),
    }


def test_the_most_advanced_touch_report_wins_across_days(staged):
    sql = (
        "select touch_id, is_delivered, strftime(opened_at, '%m-%d %H:%M'), "
        "strftime(clicked_at, '%m-%d %H:%M'), content_type from staging.stg_crm_touches__touches"
    )
    assert rows(staged, sql) == {
        "newer": (True, "03-02 08:00", "03-03 09:30", "coupon"),
        "late": (True, "03-01 12:00", "03-01 12:01", "coupon"),
        "tie": (True, None, None, "new_product"),
        "delivery": (True, None, None, "coupon"),
        "reopened": (True, "03-02 15:00", None, "coupon"),
        "reclicked": (True, "03-01 12:00", "03-02 16:00", "coupon"),
    }


def test_the_newest_customer_record_wins_across_days(staged):
    # staging holds customers under their key only: map the keys back through raw
    sql = (
        "select r.customer_id, s.member_tier from staging.stg_customers__customers s "
        "join (select distinct customer_id, customer_key from raw.customers) r using (customer_key)"
    )
    assert rows(staged, sql) == {
        "newer": ("gold",),
        "late": ("gold",),
        "tie": ("platinum",),
    }
