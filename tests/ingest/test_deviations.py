"""The deviation table of sources.md, row by row, on the sources test_loader.py does not cover
(it covers orders and products): each deviation on small hand-written files, reconciliation
asserted every time."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from assets.ingest.loader import LoadError
from tests.ingest.loading import SPECS, load, table
from tests.landing import (
    INVENTORY_HEADER,
    JUGUANG_HEADER,
    QIANCHUAN_HEADER,
    TENCENT_HEADER,
    association_row,
    customer,
    event,
    juguang_row,
    mention_row,
    post_row,
    purchase_order_row,
    qianchuan_row,
    response_row,
    roster_row,
    shipment_row,
    supplier_row,
    tencent_row,
    touch_row,
    write_ads,
    write_all_sources,
    write_csv_file,
    write_jsonl_file,
    write_listening,
    write_source_csv,
)

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)


def test_empty_json_strings_are_kept_unless_the_contract_constrains_them(con, landing):
    # JSON has null, so an empty free-form string is a value the SDK sent; an empty id or
    # enumerated value is missing, like an empty CSV field.
    write_jsonl_file(
        landing,
        "events",
        D1,
        "events.jsonl.gz",
        [
            event("e1", D1, utm_content=""),
            event("", D1),
            event("e3", D1, event_type=""),
            event("e4", D1, event_time=" "),
        ],
    )
    result = load(con, landing, "events", D1)
    assert table(con, "select event_id, utm_content from raw.events") == [("e1", "")]
    assert table(con, "select line, reason from audit.quarantine order by line") == [
        (2, "missing value in event_id"),
        (3, "missing value in event_type"),
        (4, "missing value in event_time"),
    ]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 3)


def test_a_retried_event_id_is_counted_once_even_across_gzip_parts(con, landing):
    write_jsonl_file(
        landing,
        "events",
        D1,
        "events-0001.jsonl.gz",
        [event("e1", D1), event("e2", D1), event("e1", D1)],
    )
    write_jsonl_file(landing, "events", D1, "events-0002.jsonl.gz", [event("e2", D1)])
    result = load(con, landing, "events", D1)
    assert table(con, "select event_id from raw.events order by 1") == [("e1",), ("e2",)]
    assert (result.rows_read, result.rows_loaded, result.duplicates_dropped) == (4, 2, 2)


def test_the_same_change_record_twice_is_counted_once(con, landing):
    row = shipment_row(D1, "SH1")
    write_source_csv(landing, "shipments", D1, [row, row, shipment_row(D1, "SH2")])
    result = load(con, landing, "shipments", D1)
    assert (result.rows_loaded, result.duplicates_dropped) == (2, 1)


# ----------------------------------------------------------------------------------- late records


def test_late_events_and_restated_ad_days_are_reported_under_their_own_dates(con, landing):
    late = D2 - dt.timedelta(days=3)
    write_jsonl_file(landing, "events", D2, "events.jsonl.gz", [event("e1", late), event("e2", D2)])
    assert load(con, landing, "events", D2).late_dates == [late]
    write_ads(landing, D2, qianchuan=[qianchuan_row(D1), qianchuan_row(D2)])
    result = load(con, landing, "ads", D2)
    assert result.late_dates == [D1]
    assert table(con, "select distinct _business_date from raw.ad_platform_daily") == [(D2,)]


def test_a_touch_reported_again_on_a_later_day_points_at_its_send_date(con, landing):
    write_source_csv(landing, "crm_touches", D2, [touch_row(D1, opened_at="2026-03-02 08:00:00")])
    assert load(con, landing, "crm_touches", D2).late_dates == [D1]


# ----------------------------------------------------------------------- the latest version wins


@pytest.mark.parametrize(
    "source, rows, query, expected",
    [
        (
            "shipments",
            [
                shipment_row(
                    D1,
                    "SH1",
                    status="delivered",
                    delivered_at="2026-03-01 18:00:00",
                    updated_at="2026-03-01 18:00:00",
                ),
                shipment_row(D1, "SH1", status="in_transit", updated_at="2026-03-01 12:00:00"),
            ],
            "select status from raw.shipments",
            [("delivered",)],
        ),
        (
            "purchase_orders",
            [
                purchase_order_row(
                    D1, "PO1", status="received", qty_received=500, updated_at="2026-03-01 16:00:00"
                ),
                purchase_order_row(D1, "PO1", status="open", updated_at="2026-03-01 09:00:00"),
            ],
            "select status, qty_received from raw.purchase_orders",
            [("received", 500)],
        ),
        (
            # no updated_at: the most advanced report of the touch wins, wherever it is
            "crm_touches",
            [
                touch_row(
                    D1, "T1", opened_at="2026-03-01 12:00:00", clicked_at="2026-03-01 12:01:00"
                ),
                touch_row(D1, "T1"),
                touch_row(D1, "T1", opened_at="2026-03-01 12:00:00"),
            ],
            "select opened_at is not null, clicked_at is not null from raw.crm_touches",
            [(True, True)],
        ),
    ],
)
def test_a_newer_version_wins_within_a_day(con, landing, source, rows, query, expected):
    write_source_csv(landing, source, D1, rows)
    result = load(con, landing, source, D1)
    assert table(con, query) == expected
    assert result.duplicates_dropped == len(rows) - 1


def test_a_newer_customer_record_wins_even_when_it_comes_first(con, landing):
    write_jsonl_file(
        landing,
        "customers",
        D1,
        "customers.jsonl",
        [customer("C1", D1, hour=15, member_tier="gold"), customer("C1", D1, hour=9)],
    )
    result = load(con, landing, "customers", D1)
    assert table(con, "select member_tier from raw.customers") == [("gold",)]
    assert result.duplicates_dropped == 1


# ------------------------------------------------------- unparseable or out-of-domain row values


@pytest.mark.parametrize(
    "source, rows, reasons",
    [
        (
            "surveys",
            [
                response_row(D1, "R1"),
                response_row(D1, "R2", nps_score=11),
                response_row(D1, "R3", survey="brand_tracker", nps_score=None, rating_reputation=0),
                response_row(D1, "R4", survey="exit_poll"),
                response_row(D1, "R5", responded_at="yesterday"),
            ],
            {
                2: "value above 10 in nps_score",
                3: "value below 1 in rating_reputation",
                4: "value out of domain in survey",
                5: "unparseable timestamp in responded_at",
            },
        ),
        (
            "content",
            [
                post_row(D1, "P1"),
                post_row(D1, "P2", avg_watch_ratio="1.5"),
                post_row(D1, "P3", platform="tiktok"),
                post_row(D1, "P4", likes="12k"),
            ],
            {
                2: "value above 1 in avg_watch_ratio",
                3: "value out of domain in platform",
                4: "unparseable integer in likes",
            },
        ),
        (
            "crm_touches",
            [
                touch_row(D1, "T1"),
                touch_row(D1, "T2", delivered=2),
                touch_row(D1, "T3", channel="fax"),
                touch_row(D1, "T4", customer_id=None),
            ],
            {
                2: "value above 1 in delivered",
                3: "value out of domain in channel",
                4: "missing value in customer_id",
            },
        ),
        (
            "koc",
            [roster_row("K1"), roster_row("K2", commission_rate="15%"), roster_row("K3")],
            {2: "unparseable number in commission_rate"},
        ),
        (
            "suppliers",
            [supplier_row("S1"), supplier_row("S2", tier="gold"), supplier_row("S3")],
            {2: "value out of domain in tier"},
        ),
    ],
)
def test_a_bad_row_is_quarantined_with_its_reason_and_the_rest_loads(
    con, landing, source, rows, reasons
):
    write_source_csv(landing, source, D1, rows)
    result = load(con, landing, source, D1)
    assert result.rows_loaded == len(rows) - len(reasons)
    assert result.rows_quarantined == len(reasons)
    assert dict(table(con, "select line, reason from audit.quarantine")) == reasons


def test_a_bad_tencent_row_is_quarantined_and_other_platforms_load(con, landing):
    write_ads(landing, D1, tencent=[tencent_row(D1), tencent_row(D1, "2", **{"花费(分)": "十元"})])
    result = load(con, landing, "ads", D1)
    assert result.rows_loaded == 3
    assert table(con, "select file, line, reason from audit.quarantine") == [
        ("ads/2026-03-01/tencent_ads.csv", 2, "unparseable decimal in spend")
    ]


def test_a_bad_event_line_is_quarantined(con, landing):
    write_jsonl_file(
        landing,
        "events",
        D1,
        "events.jsonl.gz",
        [event("e1", D1), event("e2", D1, "teleport"), "not json", event("e4", D1)],
    )
    result = load(con, landing, "events", D1)
    assert result.rows_loaded == 2
    assert dict(table(con, "select line, reason from audit.quarantine")) == {
        2: "value out of domain in event_type",
        3: "unparseable JSON line",
    }


# ----------------------------------------------------------------------- unknown extra columns


def test_an_unknown_column_is_recorded_as_drift_and_ignored(con, landing):
    write_csv_file(
        landing,
        "ads",
        D1,
        "juguang.csv",
        [*JUGUANG_HEADER, "cpe"],
        [[*juguang_row(D1), "0.8"]],
    )
    write_csv_file(landing, "ads", D1, "qianchuan.csv", QIANCHUAN_HEADER, [], bom=True)
    write_csv_file(
        landing,
        "ads",
        D1,
        "tencent_ads.csv",
        [*TENCENT_HEADER, "转化数"],
        [[*tencent_row(D1), 3]],
        encoding="gbk",
    )
    result = load(con, landing, "ads", D1)
    assert result.drift == ["cpe", "转化数"]
    assert result.rows_loaded == 2
    drift = table(
        con, "select file, schema_drift from audit.load_log where schema_drift is not null"
    )
    assert [d for _, d in sorted(drift)] == ['["cpe"]', '["转化数"]']


# ------------------------------------------------------------- files that cannot be trusted


def test_a_missing_required_column_quarantines_that_file_only(con, landing):
    header = [h for h in QIANCHUAN_HEADER if h != "消耗(元)"]
    row = [v for h, v in zip(QIANCHUAN_HEADER, qianchuan_row(D1), strict=True) if h != "消耗(元)"]
    write_ads(landing, D1)
    write_csv_file(landing, "ads", D1, "qianchuan.csv", header, [row], bom=True)
    result = load(con, landing, "ads", D1)
    assert [f.status for f in result.files] == ["quarantined", "loaded", "loaded"]
    assert result.files[0].reason == "required column missing: 消耗(元)"
    assert table(con, "select distinct platform from raw.ad_platform_daily order by 1") == [
        ("juguang",),
        ("tencent_ads",),
    ]
    assert table(con, "select line, reason from audit.quarantine") == [
        (None, "required column missing: 消耗(元)")
    ]


def test_a_truncated_events_part_is_quarantined_whole(con, landing):
    write_jsonl_file(landing, "events", D1, "events-0001.jsonl.gz", [event("e1", D1)])
    broken = write_jsonl_file(
        landing, "events", D1, "events-0002.jsonl.gz", [event(f"x{i}", D1) for i in range(200)]
    )
    broken.write_bytes(broken.read_bytes()[:-40])
    result = load(con, landing, "events", D1)
    assert [f.status for f in result.files] == ["loaded", "quarantined"]
    assert "corrupt or truncated gzip" in result.files[1].reason
    assert table(con, "select event_id from raw.events") == [("e1",)]


@pytest.mark.parametrize(
    "source, empty",
    [("koc", "header_only"), ("suppliers", "zero_bytes"), ("inventory", "header_only")],
)
def test_an_empty_full_snapshot_is_quarantined_whole(con, landing, source, empty):
    path = write_source_csv(landing, source, D1, [])
    if empty == "zero_bytes":
        path.write_bytes(b"")
    result = load(con, landing, source, D1)
    assert result.files[0].status == "quarantined"
    assert result.rows_loaded == 0
    assert table(con, f"select count(*) from raw.{SPECS[source].table}") == [(0,)]


def test_empty_days_are_fine_where_the_contract_allows_them(con, landing):
    write_ads(landing, D1, qianchuan=[], juguang=[], tencent=[])
    write_jsonl_file(landing, "customers", D1, "customers.jsonl", [])
    write_jsonl_file(landing, "events", D1, "events.jsonl.gz", [])
    for source in ("ads", "customers", "events"):
        result = load(con, landing, source, D1)
        assert [f.status for f in result.files] == ["loaded"] * len(result.files)


@pytest.mark.parametrize(
    "file, encoding, reason",
    [
        ("tencent_ads.csv", "utf-8", "file is UTF-8 but the source is declared gbk"),
        ("juguang.csv", "gbk", "not valid UTF-8"),
    ],
)
def test_a_file_in_the_wrong_encoding_is_quarantined_whole(con, landing, file, encoding, reason):
    write_ads(landing, D1)
    if file == "tencent_ads.csv":
        write_ads(landing, D1, tencent_encoding=encoding)
    else:
        write_csv_file(
            landing, "ads", D1, file, JUGUANG_HEADER, [juguang_row(D1)], encoding=encoding
        )
    result = load(con, landing, "ads", D1)
    bad = [f for f in result.files if f.file.endswith(file)][0]
    assert bad.status == "quarantined" and reason in bad.reason
    assert result.rows_loaded == 2
    assert table(con, "select line from audit.quarantine") == [(None,)]


# ------------------------------------------------------------------ a folder without _SUCCESS


@pytest.mark.parametrize("source", ["ads", "listening", "customers", "inventory"])
def test_a_folder_without_success_is_not_ingested(con, landing, source):
    write_all_sources(landing, D1)
    (landing / source / D1.isoformat() / "_SUCCESS").unlink()
    with pytest.raises(LoadError, match="no _SUCCESS marker"):
        load(con, landing, source, D1)
    # nothing is touched: not even the tables are created
    assert table(con, "select count(*) from information_schema.tables") == [(0,)]


# ------------------------------------------------------------------------ re-running is identical


def warehouse_state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    tables = table(
        con,
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'audit') order by all",
    )
    state = {
        f"{s}.{t}": table(con, f"select * from {s}.{t} order by all")
        for s, t in tables
        if (s, t) != ("audit", "load_log")
    }
    # loaded_at is when, not what: the rest of the load log is identical
    state["audit.load_log"] = table(
        con, "select * exclude (loaded_at) from audit.load_log order by all"
    )
    return state


def test_re_running_days_gives_identical_tables(con, landing):
    for day in (D1, D2):
        write_all_sources(landing, day)
    # some quarantine and duplicates to re-create too
    write_listening(
        landing,
        D2,
        mentions=[mention_row(D2), mention_row(D2)],
        associations=[association_row(D2), association_row(D2, co_mentions="many")],
    )
    write_csv_file(
        landing,
        "inventory",
        D2,
        "inventory.csv",
        INVENTORY_HEADER,
        [
            ["2026-03-02", "WH_SH", "S1", "-5", "0", "0", "0"],
            ["2026-03-02", "WH_SH", "S2", "5", "0", "0", "0"],
        ],
    )
    new_sources = [s for s in SPECS if s not in ("orders", "products")]
    for day in (D1, D2):
        for source in new_sources:
            load(con, landing, source, day)
    first = warehouse_state(con)
    assert table(con, "select count(*) from audit.quarantine") == [(2,)]
    for day in (D2, D1):  # a whole range again, in another order
        for source in reversed(new_sources):
            load(con, landing, source, day)
    assert warehouse_state(con) == first


# ------------------------------------------------------------------------- deleted: true (PIPL)


def test_a_deleted_customer_is_purged_and_stays_purged_on_re_run(con, landing):
    write_jsonl_file(
        landing,
        "customers",
        D1,
        "customers.jsonl",
        [customer("C1", D1), customer("C1", D1, hour=12, deleted=True), customer("C2", D1)],
    )
    for _ in range(2):
        result = load(con, landing, "customers", D1)
        assert result.duplicates_dropped == 1
        assert table(
            con,
            "select customer_id, deleted, phone_hash is null, gender, city "
            "from raw.customers order by 1",
        ) == [("C1", True, True, None, None), ("C2", False, False, "female", "杭州")]
        assert table(con, "select count(*) from audit.erasures") == [(1,)]
