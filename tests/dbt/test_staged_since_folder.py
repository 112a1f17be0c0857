"""A daily run reads a staging view's query over the folders of its rebuilt dates on
(`events_as_arrived(since)`, `shipments_as_landed(since)`, `touches_as_reported(since)`,
`campaign_days_as_reported(since)`, `post_days_as_reported(since)`), not
through the view, whose latest-version window or retries' aggregation reads every folder: for
the records dated from then on it must be exactly the view, retries, stale re-sends and earlier
versions included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from assets.ingest.loader import load_source_specs
from tests.dbt.conftest import show_rows

SINCE = "2026-03-02"
D3, D4, D5 = "2026-03-03", "2026-03-04", "2026-03-05"


def _raw_table(warehouse: Path, source: str, table: str, rows: list[dict]) -> None:
    """raw.<table> as the loader declares it (keyed columns and lineage included), with `rows`."""
    columns = {
        **load_source_specs()[source].columns(),
        "_business_date": "DATE",
        "_line": "BIGINT",
    }
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists raw")
        con.execute(
            f"create table raw.{table} ("
            + ", ".join(f"{name} {kind}" for name, kind in columns.items())
            + ")"
        )
        for line, row in enumerate(rows, start=1):
            row = {"_line": line, **row}
            names = ", ".join(row)
            con.execute(
                f"insert into raw.{table} ({names}) values ({', '.join('?' for _ in row)})",
                list(row.values()),
            )


def _view_and_since(
    dbt: Callable, warehouse: Path, view: str, macro: str, select: str
) -> dict[str, list]:
    """The rows `select` (a query of a relation `x`) finds in the view and in the macro's
    query over the folders since SINCE, each side sorted (one `dbt show` of both)."""
    built = dbt(warehouse, "run", "--select", view)
    assert built.returncode == 0, built.stdout
    sides = {
        "view": f"{{{{ ref('{view}') }}}}",
        "since": f"({{{{ {macro}('{SINCE}') }}}})",
    }
    both = " union all ".join(
        f"select '{side}' as side, * from ({select.format(relation=relation)}) as {side}_rows"
        for side, relation in sides.items()
    )
    rows: dict[str, list] = {side: [] for side in sides}
    for row in show_rows(dbt, warehouse, both):
        rows[row.pop("side")].append(row)
    return {side: sorted(found, key=json.dumps) for side, found in rows.items()}


def test_the_events_read_from_a_folder_on_are_the_views_events_of_those_dates(tmp_path, dbt):
    # (event_id, event time, landing folder): retries land a day or two after the first landing
    landings = [
        ("early", "2026-02-28 09:00:00", "2026-02-28"),
        ("early", "2026-02-28 09:00:00", "2026-03-02"),  # an old event retried into the window
        ("e1", "2026-03-01 10:00:00", "2026-03-01"),
        ("e1", "2026-03-01 10:00:00", "2026-03-02"),
        ("e2", "2026-03-02 08:00:00", "2026-03-02"),
        ("e2", "2026-03-02 08:00:00", "2026-03-03"),
        ("e2", "2026-03-02 08:00:00", "2026-03-04"),
        ("e3", "2026-03-02 23:59:00", "2026-03-03"),  # late, never on its own date
        ("e3", "2026-03-02 23:59:00", "2026-03-04"),
        ("e4", "2026-03-03 12:00:00", "2026-03-03"),
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    _raw_table(
        warehouse,
        "events",
        "events",
        [
            {"event_id": e, "event_type": "page_view", "event_time": t, "_business_date": folder}
            for e, t, folder in landings
        ],
    )
    rows = _view_and_since(
        dbt,
        warehouse,
        "stg_events__events",
        "events_as_arrived",
        "select event_id, cast(event_date as varchar) as event_date, "
        "cast(landed_date as varchar) as landed_date from {relation} as x "
        f"where event_date >= cast('{SINCE}' as date) order by event_id",
    )
    expected = [
        {"event_id": "e2", "event_date": "2026-03-02", "landed_date": "2026-03-02"},
        {"event_id": "e3", "event_date": "2026-03-02", "landed_date": "2026-03-03"},
        {"event_id": "e4", "event_date": "2026-03-03", "landed_date": "2026-03-03"},
    ]
    assert rows["view"] == sorted(expected, key=json.dumps)
    assert rows["since"] == rows["view"]


def test_the_shipments_read_from_a_folder_on_are_the_views_shipments_of_those_ship_dates(
    tmp_path, dbt
):
    def version(shipment, status, shipped, updated, folder):
        return {
            "shipment_id": shipment,
            "order_id": f"o-{shipment}",
            "carrier": "sf",
            "status": status,
            "shipped_at": shipped,
            "updated_at": updated,
            "_business_date": folder,
        }

    warehouse = tmp_path / "warehouse.duckdb"
    _raw_table(
        warehouse,
        "shipments",
        "shipments",
        [
            # shipped before SINCE, delivered after it: not a ship date of the window
            version("s0", "in_transit", "2026-03-01 09:00:00", "2026-03-01 09:00:00", "2026-03-01"),
            version("s0", "delivered", "2026-03-01 09:00:00", "2026-03-03 10:00:00", "2026-03-03"),
            # created before SINCE, shipped after it, an exception, then delivered a day late
            version("s1", "created", None, "2026-03-01 08:00:00", "2026-03-01"),
            version("s1", "in_transit", "2026-03-02 09:00:00", "2026-03-02 09:00:00", "2026-03-02"),
            version("s1", "exception", "2026-03-02 09:00:00", "2026-03-03 09:00:00", "2026-03-03"),
            version("s1", "delivered", "2026-03-02 09:00:00", "2026-03-04 09:00:00", "2026-03-05"),
            # a stale version re-sent after the latest one: the latest updated_at still wins
            version("s2", "delivered", "2026-03-02 10:00:00", "2026-03-03 10:00:00", "2026-03-03"),
            version("s2", "in_transit", "2026-03-02 10:00:00", "2026-03-02 10:00:00", "2026-03-04"),
            # shipped on SINCE and never sent again: only SINCE's own folder holds it
            version("s3", "in_transit", "2026-03-02 11:00:00", "2026-03-02 11:00:00", SINCE),
        ],
    )
    rows = _view_and_since(
        dbt,
        warehouse,
        "stg_shipments__shipments",
        "shipments_as_landed",
        "select shipment_id, status, had_exception, cast(last_landed_date as varchar) as landed "
        f"from {{relation}} as x where cast(shipped_at as date) >= cast('{SINCE}' as date) "
        "order by shipment_id",
    )
    expected = [
        {"shipment_id": "s1", "status": "delivered", "had_exception": True, "landed": D5},
        {"shipment_id": "s2", "status": "delivered", "had_exception": False, "landed": D3},
        {"shipment_id": "s3", "status": "in_transit", "had_exception": False, "landed": SINCE},
    ]
    assert rows["view"] == sorted(expected, key=json.dumps)
    assert rows["since"] == rows["view"]


def test_the_touches_read_from_a_folder_on_are_the_views_touches_of_those_send_dates(tmp_path, dbt):
    def report(touch, sent, opened, clicked, folder):
        return {
            "touch_id": touch,
            "customer_key": f"c-{touch}",
            "channel": "sms",
            "sent_at": sent,
            "delivered": 1,
            "opened_at": opened,
            "clicked_at": clicked,
            "_business_date": folder,
        }

    warehouse = tmp_path / "warehouse.duckdb"
    _raw_table(
        warehouse,
        "crm_touches",
        "crm_touches",
        [
            # sent before SINCE, opened after it: not a send date of the window
            report("t0", "2026-03-01 10:00:00", None, None, "2026-03-01"),
            report("t0", "2026-03-01 10:00:00", "2026-03-02 08:00:00", None, "2026-03-02"),
            # opened, then a stale report without the open re-sent: the open stands
            report("t1", "2026-03-02 10:00:00", None, None, "2026-03-02"),
            report("t1", "2026-03-02 10:00:00", "2026-03-02 11:00:00", None, "2026-03-03"),
            report("t1", "2026-03-02 10:00:00", None, None, "2026-03-04"),
            # sent on SINCE and reported once: only SINCE's own folder holds it
            report("t3", "2026-03-02 12:00:00", None, None, SINCE),
            # sent late in the evening, reported first in the next day's folder, then clicked
            report("t2", "2026-03-02 23:50:00", None, None, "2026-03-03"),
            report("t2", "2026-03-02 23:50:00", "2026-03-03 08:00", "2026-03-03 08:01", D4),
        ],
    )
    rows = _view_and_since(
        dbt,
        warehouse,
        "stg_crm_touches__touches",
        "touches_as_reported",
        "select touch_id, is_opened, is_clicked, cast(last_landed_date as varchar) as landed "
        f"from {{relation}} as x where sent_date >= cast('{SINCE}' as date) order by touch_id",
    )
    expected = [
        {"touch_id": "t1", "is_opened": True, "is_clicked": False, "landed": "2026-03-03"},
        {"touch_id": "t2", "is_opened": True, "is_clicked": True, "landed": "2026-03-04"},
        {"touch_id": "t3", "is_opened": False, "is_clicked": False, "landed": SINCE},
    ]
    assert rows["view"] == sorted(expected, key=json.dumps)
    assert rows["since"] == rows["view"]


def test_the_campaign_days_read_from_a_folder_on_are_the_views_days_from_then_on(tmp_path, dbt):
    def report(campaign, day, impressions, folder):
        return {
            "platform": "qianchuan",
            "campaign_id": campaign,
            "date_day": day,
            "impressions": impressions,
            "_business_date": folder,
        }

    warehouse = tmp_path / "warehouse.duckdb"
    _raw_table(
        warehouse,
        "ads",
        "ad_platform_daily",
        [
            # a day before SINCE restated inside the window: not a day of the window
            report("c0", "2026-03-01", 10, "2026-03-01"),
            report("c0", "2026-03-01", 11, SINCE),
            # reported on its day, restated two folders later: the later folder wins
            report("c1", SINCE, 100, SINCE),
            report("c1", SINCE, 120, D4),
            # reported first in a later day's folder (D-1..D-3), twice in it: the later line
            report("c2", D3, 7, D5),
            report("c2", D3, 8, D5),
            # reported once, on its own day
            report("c3", D3, 30, D3),
            # reported on SINCE and never again: only SINCE's own folder holds it
            report("c4", SINCE, 50, SINCE),
        ],
    )
    rows = _view_and_since(
        dbt,
        warehouse,
        "stg_ads__campaign_days",
        "campaign_days_as_reported",
        "select campaign_id, cast(date_day as varchar) as date_day, impressions, "
        "cast(last_landed_date as varchar) as landed from {relation} as x "
        f"where date_day >= cast('{SINCE}' as date) order by campaign_id",
    )
    expected = [
        {"campaign_id": "c1", "date_day": SINCE, "impressions": 120, "landed": D4},
        {"campaign_id": "c2", "date_day": D3, "impressions": 8, "landed": D5},
        {"campaign_id": "c3", "date_day": D3, "impressions": 30, "landed": D3},
        {"campaign_id": "c4", "date_day": SINCE, "impressions": 50, "landed": SINCE},
    ]
    assert rows["view"] == sorted(expected, key=json.dumps)
    assert rows["since"] == rows["view"]


def test_the_post_days_read_from_a_folder_on_are_the_views_days_from_then_on(tmp_path, dbt):
    def report(post, day, views, folder):
        return {
            "platform": "xiaohongshu",
            "post_id": post,
            "stat_date": day,
            "views": views,
            "_business_date": folder,
        }

    warehouse = tmp_path / "warehouse.duckdb"
    _raw_table(
        warehouse,
        "content",
        "content_post_daily",
        [
            report("p0", "2026-03-01", 5, "2026-03-01"),
            report("p0", "2026-03-01", 6, D3),
            report("p1", SINCE, 40, SINCE),
            report("p1", SINCE, 45, D3),
            report("p2", D4, 9, D5),
            report("p3", SINCE, 12, SINCE),
        ],
    )
    rows = _view_and_since(
        dbt,
        warehouse,
        "stg_content__post_days",
        "post_days_as_reported",
        "select post_id, cast(stat_date as varchar) as stat_date, views, "
        "cast(last_landed_date as varchar) as landed from {relation} as x "
        f"where stat_date >= cast('{SINCE}' as date) order by post_id",
    )
    expected = [
        {"post_id": "p1", "stat_date": SINCE, "views": 45, "landed": D3},
        {"post_id": "p2", "stat_date": D4, "views": 9, "landed": D5},
        {"post_id": "p3", "stat_date": SINCE, "views": 12, "landed": SINCE},
    ]
    assert rows["view"] == sorted(expected, key=json.dumps)
    assert rows["since"] == rows["view"]
