"""Realistic damage, on the exact bytes that once broke the loader: every good record is kept,
every bad one is quarantined with its line and reason, and `rows_read` is an independent count
of the file's records (sources.md, the deviation table's later rows)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.ingest.loader import LoadError
from assets.ingest.loader import reader as reader_module
from assets.ingest.loader.files import CsvScan
from orchestration.lib.gx_checks import load_log_failures
from tests.ingest.lake import data_files
from tests.ingest.loading import load, table
from tests.landing import (
    JUGUANG_HEADER,
    PRODUCT_HEADER,
    PURCHASE_ORDERS_HEADER,
    QIANCHUAN_HEADER,
    RESPONSES_HEADER,
    TENCENT_HEADER,
    event,
    juguang_row,
    order,
    product_rows,
    purchase_order_row,
    qianchuan_row,
    response_row,
    tencent_row,
    write_ads,
    write_csv_file,
    write_jsonl_file,
    write_orders,
    write_products,
    write_source_csv,
)

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)


def data_lines(path: Path) -> int:
    """The test's own count of a CSV's data records: its non-empty lines after the header."""
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip(b"\r")]
    return len(lines) - 1


def quarantine(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return table(con, "select file, line, reason from audit.quarantine order by file, line")


# ------------------------------------------------------------------ a quote that never closes


def test_an_unclosed_quote_costs_its_own_record_only(con, landing):
    rows = [purchase_order_row(D1, f"PO{i}") for i in range(1, 229)]
    path = write_source_csv(landing, "purchase_orders", D1, rows)
    lines = path.read_text().split("\n")
    lines[5] = lines[5].replace(",SUP1,", ',"SUP1,', 1)  # data line 5
    assert '"SUP1' in lines[5]
    path.write_text("\n".join(lines))
    result = load(con, landing, "purchase_orders", D1)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (228, 227, 1)
    assert result.rows_read == data_lines(path)
    assert quarantine(con) == [
        (
            "purchase_orders/2026-03-01/purchase_orders.csv",
            5,
            "unparseable line: a quote that never closes",
        )
    ]
    loaded = {r[0] for r in table(con, "select po_id from raw.purchase_orders")}
    assert loaded == {f"PO{i}" for i in range(1, 229)} - {"PO5"}
    # the record after the broken one, and a later invalid one, keep their physical lines
    assert "PO6" in loaded


def test_an_unclosed_quote_in_free_text_and_a_real_multiline_field(con, landing):
    rows = [response_row(D1, f"SR{i}", survey="brand_tracker", nps_score=None) for i in range(6)]
    rows[3] = response_row(
        D1, "SR3", survey="brand_tracker", nps_score=None, associations="温和;\n好用"
    )
    path = write_source_csv(landing, "surveys", D1, rows)
    text = path.read_text(encoding="utf-8")
    # an export that lost a closing quote: `"好用` runs into the next lines
    text = text.replace("SR1,", 'SR1,"好用', 1)
    path.write_text(text, encoding="utf-8")
    result = load(con, landing, "surveys", D1)
    assert result.rows_read == 6  # the quoted newline of SR3 is inside one record
    assert result.rows_quarantined == 1
    assert table(con, "select line, reason from audit.quarantine") == [
        (2, "unparseable line: a quote that never closes")
    ]
    assert table(con, "select response_id from raw.survey_responses order by 1") == [
        ("SR0",),
        ("SR2",),
        ("SR3",),
        ("SR4",),
        ("SR5",),
    ]
    assert table(con, "select associations from raw.survey_responses where response_id = 'SR3'")[0][
        0
    ] == ("温和;\n好用")
    assert RESPONSES_HEADER  # the header the builder wrote is the contract's


def test_the_reconciliation_fails_when_the_reader_and_the_count_disagree(con, landing, monkeypatch):
    write_source_csv(landing, "purchase_orders", D1, [purchase_order_row(D1, "PO1")])
    real = reader_module.scan_csv

    def one_more(text: str) -> CsvScan:
        scan = real(text)
        scan.records += 1
        return scan

    monkeypatch.setattr(reader_module, "scan_csv", one_more)
    with pytest.raises(LoadError, match="reconciliation failed: read 2 != loaded 1"):
        load(con, landing, "purchase_orders", D1)


# ---------------------------------------------------------------------- encodings and gzip


def test_a_gbk_file_holding_gb18030_characters_loads_whole(con, landing):
    write_ads(landing, D1)
    rows = [
        tencent_row(D1, "1001", **{"广告名称": "春季𠀀新品"}),
        tencent_row(D1, "1002", **{"广告名称": "好物🎉推荐"}),
    ]
    path = write_csv_file(
        landing, "ads", D1, "tencent_ads.csv", TENCENT_HEADER, rows, encoding="gb18030"
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gbk")  # these bytes are not GBK: the file really is GB18030
    result = load(con, landing, "ads", D1)
    assert result.rows_quarantined == 0
    assert table(
        con,
        "select campaign_name from raw.ad_platform_daily where platform = 'tencent_ads' "
        "order by campaign_id",
    ) == [("春季𠀀新品",), ("好物🎉推荐",)]


@pytest.mark.parametrize("damage", ["zero_padding", "two_members"])
def test_a_gzip_with_padding_or_several_members_reads_every_record(con, landing, damage):
    events = [event(f"e{i}", D1) for i in range(120)]
    path = write_jsonl_file(landing, "events", D1, "events.jsonl.gz", events[:60])
    if damage == "zero_padding":
        path.write_bytes(
            gzip.compress("".join(json.dumps(e) + "\n" for e in events).encode(), mtime=0)
            + b"\0" * 512
        )
    else:
        second = gzip.compress("".join(json.dumps(e) + "\n" for e in events[60:]).encode())
        path.write_bytes(path.read_bytes() + second)
    result = load(con, landing, "events", D1)
    assert [f.status for f in result.files] == ["loaded"]
    assert (result.rows_read, result.rows_loaded) == (120, 120)
    assert table(con, "select count(distinct event_id) from raw.events") == [(120,)]


def test_a_truncated_gzip_is_still_quarantined_and_counted(con, landing):
    events = [event(f"x{i}", D1) for i in range(200)]
    path = write_jsonl_file(landing, "events", D1, "events.jsonl.gz", events)
    whole = path.read_bytes()
    path.write_bytes(whole[:-40])
    result = load(con, landing, "events", D1)
    assert result.files[0].status == "quarantined"
    assert "truncated gzip" in result.files[0].reason
    # what the damaged stream still holds, counted by the test with zlib of its own
    import zlib

    recovered = zlib.decompressobj(wbits=31).decompress(whole[:-40])
    expected = len([line for line in recovered.split(b"\n") if line.strip()])
    assert 150 < expected <= 200
    assert result.rows_read == result.rows_quarantined == expected


# ----------------------------------------------------------------------------- CSV headers


def test_a_trailing_comma_on_every_line_is_tolerated(con, landing):
    path = write_products(landing, D1, product_rows(3))
    text = "".join(line + ",\n" for line in path.read_text(encoding="utf-8").splitlines())
    path.write_text(text, encoding="utf-8")
    result = load(con, landing, "products", D1)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    assert result.drift == []


def test_a_header_in_another_case_or_with_spaces_is_matched_and_recorded(con, landing):
    header = [h.upper() + " " if h in ("sku_id", "unit_cost") else h for h in PRODUCT_HEADER]
    write_csv_file(landing, "products", D1, "products.csv", header, product_rows(3))
    result = load(con, landing, "products", D1)
    assert result.rows_loaded == 3
    assert table(con, "select count(*) from raw.products where unit_cost is not null") == [(3,)]
    assert result.drift == ["'SKU_ID ' read as sku_id", "'UNIT_COST ' read as unit_cost"]
    assert table(con, "select schema_drift from audit.load_log") == [
        ("[\"'SKU_ID ' read as sku_id\", \"'UNIT_COST ' read as unit_cost\"]",)
    ]


def test_a_duplicated_header_quarantines_the_file_naming_the_column(con, landing):
    header = [*PRODUCT_HEADER[:-1], "sku_id"]
    path = write_csv_file(landing, "products", D1, "products.csv", header, product_rows(4))
    result = load(con, landing, "products", D1)
    (file,) = result.files
    assert file.status == "quarantined"
    assert file.reason == "duplicated column in the header: sku_id"
    assert file.rows_read == file.rows_quarantined == data_lines(path) == 4


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("missing_column", "required column missing: 消耗(元)"),
        ("wrong_encoding", "not valid UTF-8"),
    ],
)
def test_a_file_quarantined_whole_counts_its_records(con, landing, damage, reason):
    write_ads(landing, D1)
    rows = [qianchuan_row(D1, f"17000000000000{i:02d}") for i in range(7)]
    if damage == "missing_column":
        header = [h for h in QIANCHUAN_HEADER if h != "消耗(元)"]
        rows = [
            [v for h, v in zip(QIANCHUAN_HEADER, r, strict=True) if h != "消耗(元)"] for r in rows
        ]
        path = write_csv_file(landing, "ads", D1, "qianchuan.csv", header, rows, bom=True)
    else:
        path = write_csv_file(
            landing, "ads", D1, "qianchuan.csv", QIANCHUAN_HEADER, rows, encoding="gbk"
        )
    result = load(con, landing, "ads", D1)
    bad = next(f for f in result.files if f.file.endswith("qianchuan.csv"))
    assert bad.status == "quarantined" and reason in bad.reason
    assert bad.rows_read == bad.rows_quarantined == data_lines(path) == 7
    logged = table(con, "select rows_read from audit.load_log where file like '%qianchuan.csv'")
    assert logged == [(7,)]


def test_a_record_of_three_megabytes_loads(con, landing):
    big = "x" * 3_000_000
    write_source_csv(
        landing,
        "purchase_orders",
        D1,
        [purchase_order_row(D1, "PO1", sku_id=big), purchase_order_row(D1, "PO2")],
    )
    write_jsonl_file(
        landing,
        "events",
        D1,
        "events.jsonl.gz",
        [event("e1", D1, page_url=big), "not json", event("e3", D1)],
    )
    assert load(con, landing, "purchase_orders", D1).rows_loaded == 2
    result = load(con, landing, "events", D1)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert table(con, "select length(page_url) from raw.events where event_id = 'e1'") == [
        (3_000_000,)
    ]
    assert table(con, "select reason from audit.quarantine where source = 'events'") == [
        ("unparseable JSON line",)
    ]


# ------------------------------------------------------------------- only the contract's files


def test_files_outside_the_contract_are_listed_and_never_loaded(con, landing):
    write_orders(landing, D1, [order("o1", D1)])
    backup = write_jsonl_file(
        landing, "orders", D1, "orders_backup.jsonl.gz", [order(f"b{i}", D1) for i in range(5)]
    )
    (backup.parent / "notes.txt").write_text("re-exported by hand\n")
    write_jsonl_file(landing, "orders", D1, "orders-0002.jsonl.gz", [order("o2", D1)])
    result = load(con, landing, "orders", D1)
    assert table(con, "select order_id from raw.orders order by 1") == [("o1",), ("o2",)]
    assert table(con, "select file, status, rows_read from audit.load_log order by file") == [
        ("orders/2026-03-01/notes.txt", "unexpected", 0),
        ("orders/2026-03-01/orders-0002.jsonl.gz", "loaded", 1),
        ("orders/2026-03-01/orders.jsonl.gz", "loaded", 1),
        ("orders/2026-03-01/orders_backup.jsonl.gz", "unexpected", 0),
    ]
    assert {f.status for f in result.files} == {"loaded", "unexpected"}


def test_a_symlink_leaving_the_landing_zone_is_refused(con, landing, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_orders(outside, D1, [order("stolen", D1)])
    folder = landing / "orders" / D1.isoformat()
    folder.mkdir(parents=True)
    (folder / "_SUCCESS").touch()
    (folder / "orders.jsonl.gz").symlink_to(outside / "orders" / D1.isoformat() / "orders.jsonl.gz")
    result = load(con, landing, "orders", D1)
    assert [f.status for f in result.files] == ["refused"]
    assert "symlink leading outside the landing zone" in result.files[0].reason
    assert table(con, "select count(*) from raw.orders") == [(0,)]
    failures = load_log_failures(con, {}, "orders", D1.isoformat())
    assert [f["expectation"] for f in failures] == ["load_log: every declared file loads"]
    assert "orders/2026-03-01/orders.jsonl.gz refused" in failures[0]["observed_value"]


def test_a_symlink_inside_the_landing_zone_is_followed(con, landing):
    write_orders(landing, D2, [order("o1", D2)])
    folder = landing / "orders" / D1.isoformat()
    folder.mkdir(parents=True)
    (folder / "_SUCCESS").touch()
    (folder / "orders.jsonl.gz").symlink_to(landing / "orders" / D2.isoformat() / "orders.jsonl.gz")
    assert load(con, landing, "orders", D1).rows_loaded == 1


# ------------------------------------------------------------------------ nested and id values


def test_a_bad_order_item_quarantines_its_order_and_items_are_typed(con, landing):
    good = order("o1", D1)
    bad = order("o2", D1)
    bad["items"] = [{"sku_id": "S1", "qty": "2件", "unit_price": 10, "discount": 0}]
    as_text = order("o3", D1)
    as_text["items"] = [{"sku_id": "S2", "qty": "3", "unit_price": "10.50", "discount": 0}]
    not_a_list = order("o4", D1)
    not_a_list["items"] = {"sku_id": "S1", "qty": 1}
    write_orders(landing, D1, [good, bad, as_text, not_a_list])
    result = load(con, landing, "orders", D1)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert table(con, "select line, reason from audit.quarantine order by line") == [
        (2, "unparseable integer in items[].qty"),
        (4, "unparseable json in items"),
    ]
    (items,) = table(con, "select items from raw.orders where order_id = 'o3'")[0]
    assert json.loads(items) == [{"sku_id": "S2", "qty": 3, "unit_price": 10.5, "discount": 0}]


@pytest.mark.parametrize("platform", ["qianchuan", "juguang", "tencent"])
def test_an_excel_mangled_campaign_id_is_quarantined(con, landing, platform):
    mangled = "1.75947E+15"
    if platform == "qianchuan":
        write_ads(landing, D1, qianchuan=[qianchuan_row(D1), qianchuan_row(D1, mangled)])
    elif platform == "juguang":
        write_ads(landing, D1, juguang=[juguang_row(D1), juguang_row(D1, mangled)])
    else:
        write_ads(landing, D1, tencent=[tencent_row(D1), tencent_row(D1, mangled)])
    result = load(con, landing, "ads", D1)
    assert result.rows_quarantined == 1
    assert table(con, "select line, reason from audit.quarantine") == [
        (2, "value not of the form of campaign_id")
    ]
    assert JUGUANG_HEADER and table(
        con, "select count(*) from raw.ad_platform_daily where campaign_id = ?", [mangled]
    ) == [(0,)]


# ----------------------------------------------------------------------- the gate reads the log


def test_the_gate_fails_a_day_that_lost_a_file_or_many_records(con, landing):
    write_ads(landing, D1)
    (landing / "ads" / D1.isoformat() / "juguang.csv").unlink()
    load(con, landing, "ads", D1)
    failures = load_log_failures(con, {}, "ads", D1.isoformat())
    assert len(failures) == 1
    assert failures[0]["observed_value"] == (
        "ads/2026-03-01/juguang.csv quarantined: expected file not found (0 records)"
    )

    rows = [purchase_order_row(D1, f"PO{i}") for i in range(10)]
    rows[3] = purchase_order_row(D1, "PO3", qty_ordered="many")
    write_source_csv(landing, "purchase_orders", D1, rows)
    load(con, landing, "purchase_orders", D1)
    assert load_log_failures(con, {}, "purchase_orders", D1.isoformat()) == []
    strict = {"meta": {"load_log": {"max_quarantined_share": 0.05}}}
    (failure,) = load_log_failures(con, strict, "purchase_orders", D1.isoformat())
    assert failure["observed_value"] == (
        "purchase_orders/2026-03-01/purchase_orders.csv: 1 of 10 records quarantined (more than 5%)"
    )
    assert PURCHASE_ORDERS_HEADER


# ------------------------------------------------------------------------- a raw lake that moves


def two_days(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    for day in (D1, D2):
        write_orders(landing, day, [order(f"o{day.day}", day)])
        load(con, landing, "orders", day)


def test_a_moved_warehouse_keeps_its_lake_and_re_runs(tmp_path, landing):
    first = tmp_path / "a" / "w.duckdb"
    first.parent.mkdir()
    con = duckdb.connect(str(first))
    two_days(con, landing)
    con.close()
    moved = tmp_path / "b" / "w.duckdb"
    shutil.move(str(first.parent), str(moved.parent))
    con = duckdb.connect(str(moved))
    try:
        before = set(data_files(con, "orders"))
        load(con, landing, "orders", D2)  # a re-run after the move
        after = set(data_files(con, "orders"))
        assert len(before & after) == 1  # D1's file kept, D2's replaced
        assert table(con, "select order_id from raw.orders order by 1") == [("o1",), ("o2",)]
        assert all(Path(p).is_relative_to(moved.parent) for p in after)
    finally:
        con.close()


def test_a_copied_warehouse_reads_and_writes_only_its_own_lake(tmp_path, landing):
    original = tmp_path / "a" / "w.duckdb"
    original.parent.mkdir()
    con = duckdb.connect(str(original))
    two_days(con, landing)
    con.close()
    copy = tmp_path / "b" / "w.duckdb"
    shutil.copytree(original.parent, copy.parent)
    originals = sorted(original.parent.rglob("*.parquet"))
    stamps = [p.stat().st_mtime_ns for p in originals]

    con = duckdb.connect(str(copy))
    try:
        load(con, landing, "orders", D2)
        assert sorted(original.parent.rglob("*.parquet")) == originals
        assert [p.stat().st_mtime_ns for p in originals] == stamps
        # the copy's view names the copy's files, even for the date it did not reload
        shutil.rmtree(original.parent)
        assert table(con, "select order_id from raw.orders order by 1") == [("o1",), ("o2",)]
    finally:
        con.close()


def test_a_deleted_lake_is_named_with_the_dates_to_re_run(con, landing):
    two_days(con, landing)
    lost = data_files(con, "orders")[0].parent.parent  # D1's folder of the lake
    shutil.rmtree(lost)
    with pytest.raises(
        LoadError,
        match=r"missing from the raw lake .* re-running orders for "
        r"2026-03-01\.\.2026-03-01",
    ):
        load(con, landing, "orders", D2)
    # the lake keeps D2's file: a failed load deletes nothing it did not write
    assert len(data_files(con, "orders")) == 1
