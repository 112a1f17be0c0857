"""The shared loader on small hand-written files: latest wins, exact replace, quarantine,
reconciliation, privacy."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from assets.ingest.loader import LoadError, load_day, load_source_specs
from assets.ingest.loader import load as loader
from tests.ingest.lake import data_files
from tests.landing import PRODUCT_HEADER, order, product_rows, write_orders, write_products

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)
KEY = b"unit-test-key"
SPECS = load_source_specs()


def load(con: duckdb.DuckDBPyConnection, landing: Path, source: str, day: dt.date):
    return load_day(con, SPECS[source], landing, day, KEY, log_fn=lambda _: None)


def table(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_change_feed_keeps_latest_version_and_counts_the_rest(con, landing):
    write_orders(
        landing,
        D1,
        [
            order("o1", D1, "created", paid=False, updated_hour=9),
            order("o1", D1, "paid", updated_hour=10),
            order("o2", D1, "paid"),
            order("o2", D1, "paid"),  # an exact re-send
        ],
    )
    result = load(con, landing, "orders", D1)
    assert table(con, "select order_id, status from raw.orders order by 1") == [
        ("o1", "paid"),
        ("o2", "paid"),
    ]
    assert (result.rows_read, result.rows_loaded, result.duplicates_dropped) == (4, 2, 2)
    log = table(
        con,
        "select rows_read, rows_loaded, rows_quarantined, duplicates_dropped, "
        "status from audit.load_log",
    )
    assert log == [(4, 2, 0, 2, "loaded")]


def test_latest_version_wins_even_when_it_comes_first_in_the_file(con, landing):
    write_orders(
        landing,
        D1,
        [
            order("o1", D1, "refunded", refund=100.0, updated_hour=12),
            order("o1", D1, "paid", updated_hour=10),
        ],
    )
    load(con, landing, "orders", D1)
    assert table(con, "select status, refund_amount from raw.orders") == [("refunded", 100)]


def test_reloading_a_day_replaces_it_exactly(con, landing):
    write_orders(landing, D1, [order("o1", D1), order("o2", D1), "{broken"])
    load(con, landing, "orders", D1)
    first = (
        table(con, "select * from raw.orders order by all"),
        table(con, "select * from audit.quarantine order by all"),
    )
    load(con, landing, "orders", D1)
    second = (
        table(con, "select * from raw.orders order by all"),
        table(con, "select * from audit.quarantine order by all"),
    )
    assert first == second
    assert table(con, "select count(*) from audit.load_log") == [(1,)]

    # The upstream system re-drops the day with one order fewer: the partition follows it.
    write_orders(landing, D1, [order("o1", D1)])
    load(con, landing, "orders", D1)
    assert table(con, "select order_id from raw.orders") == [("o1",)]
    assert table(con, "select count(*) from audit.quarantine") == [(0,)]


def test_a_load_that_fails_before_its_commit_leaves_the_previous_day(con, landing, monkeypatch):
    write_orders(landing, D1, [order("o1", D1), order("o2", D1), "{broken"])
    load(con, landing, "orders", D1)
    state = (
        table(con, "select * from raw.orders order by all"),
        table(con, "select * from audit.quarantine order by all"),
        table(con, "select * exclude (loaded_at) from audit.load_log order by all"),
    )
    committed = data_files(con, "orders")

    # A re-drop whose load fails inside the transaction, after its data file was written.
    write_orders(landing, D1, [order("o3", D1)])

    def fail(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_refresh_view", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        load(con, landing, "orders", D1)
    assert state == (
        table(con, "select * from raw.orders order by all"),
        table(con, "select * from audit.quarantine order by all"),
        table(con, "select * exclude (loaded_at) from audit.load_log order by all"),
    )
    assert data_files(con, "orders") == committed

    # A load killed before its cleanup leaves its journaled folder behind: the next load
    # deletes it, and the replaced file too, but never a file this warehouse did not write.
    monkeypatch.setattr(loader.shutil, "rmtree", lambda *_a, **_k: None)
    with pytest.raises(RuntimeError, match="disk full"):
        load(con, landing, "orders", D1)
    crashed = [f for f in data_files(con, "orders") if f not in committed]
    assert len(crashed) == 1
    foreign = committed[0].parent.parent / "copied-by-hand" / "orders.jsonl.parquet"
    foreign.parent.mkdir()
    foreign.write_bytes(committed[0].read_bytes())
    monkeypatch.undo()
    load(con, landing, "orders", D1)
    assert table(con, "select order_id from raw.orders") == [("o3",)]
    assert not crashed[0].exists()
    assert foreign.exists()
    assert len([f for f in data_files(con, "orders") if f != foreign]) == 1
    assert not set(data_files(con, "orders")) & set(committed)


def test_days_loaded_out_of_order_give_the_same_tables(tmp_path, landing):
    write_orders(landing, D1, [order("o1", D1), order("o2", D1, "created", paid=False)])
    write_orders(landing, D2, [order("o2", D1, "paid", updated_hour=23), order("o3", D2)])
    results = []
    for name, days in (("in_order", [D1, D2]), ("reversed", [D2, D1])):
        connection = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        for day in days:
            load(connection, landing, "orders", day)
        results.append(table(connection, "select * from raw.orders order by all"))
        connection.close()
    assert results[0] == results[1]


def test_late_records_are_reported_under_their_own_dates(con, landing):
    late_day = D2 - dt.timedelta(days=3)
    write_orders(landing, D2, [order("o1", late_day), order("o2", D2)])
    result = load(con, landing, "orders", D2)
    assert result.late_dates == [late_day]


def test_bad_rows_are_quarantined_with_line_and_reason_and_good_rows_load(con, landing):
    write_orders(
        landing,
        D1,
        [
            order("o1", D1),
            order("o2", D1, paid_amount="12,5x"),
            '{"order_id": "o3", broken json',
            order("o4", D1, status="teleported"),
            order("o5", D1, created_at="yesterday-ish"),
            order("o6", D1, store=None),
            order("o7", D1),
        ],
    )
    result = load(con, landing, "orders", D1)
    assert table(con, "select order_id from raw.orders order by 1") == [("o1",), ("o7",)]
    reasons = dict(table(con, "select line, reason from audit.quarantine order by line"))
    assert reasons == {
        2: "unparseable decimal in paid_amount",
        3: "unparseable JSON line",
        4: "value out of domain in status",
        5: "unparseable timestamp in created_at",
        6: "missing value in store",
    }
    assert result.files[0].reconciles()
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (7, 2, 5)


def test_csv_lines_with_wrong_field_count_are_quarantined_not_fatal(con, landing):
    rows = [
        *product_rows(2),
        ["S9", "P1", "short row"],
        ["S3", "P1", "x", "skincare", "s", "abc", "99", "2025-01-01", "active", "SUP1", "365"],
        ["S4", *product_rows(1)[0][1:]],
    ]
    write_products(landing, D1, rows)
    result = load(con, landing, "products", D1)
    # A raw row's _line counts the records the reader could split (S4 is on data line 5).
    assert table(con, "select sku_id, _line from raw.products order by 1") == [
        ("S1", 1),
        ("S2", 2),
        ("S4", 4),
    ]
    quarantined = table(con, "select line, reason from audit.quarantine order by line")
    assert [line for line, _ in quarantined] == [3, 4]
    assert quarantined[0][1].startswith("unparseable line")
    assert quarantined[1][1] == "unparseable decimal in unit_cost"
    assert result.files[0].reconciles()


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("truncated_gzip", "corrupt or truncated gzip"),
        ("zero_bytes", "empty file (0 bytes)"),
        ("missing_column", "required column missing: status"),
        ("wrong_encoding", "not valid UTF-8"),
    ],
)
def test_untrustworthy_files_are_quarantined_whole(con, landing, damage, reason):
    if damage in ("truncated_gzip", "zero_bytes", "missing_column"):
        records = [order(f"o{i}", D1) for i in range(50)]
        if damage == "missing_column":
            for r in records:
                r.pop("status")
        path = write_orders(landing, D1, records)
        if damage == "truncated_gzip":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif damage == "zero_bytes":
            path.write_bytes(b"")
        source = "orders"
    else:
        write_products(
            landing,
            D1,
            [["S1", "P1", "面霜", "护肤", "x", "1", "2", "2025-01-01", "active", "SUP1", "365"]],
            encoding="gbk",
        )
        source = "products"
    result = load(con, landing, source, D1)
    assert result.rows_loaded == 0
    assert table(con, f"select count(*) from raw.{source}") == [(0,)]
    rows = table(con, "select line, reason from audit.quarantine")
    assert len(rows) == 1 and rows[0][0] is None and reason in rows[0][1]
    assert table(con, "select status from audit.load_log") == [("quarantined",)]


def test_a_whole_file_quarantine_leaves_the_other_files_of_the_day(con, landing):
    write_orders(landing, D1, [order("o1", D1)], name="orders-0001.jsonl.gz")
    broken = write_orders(landing, D1, [order("o2", D1)], name="orders-0002.jsonl.gz")
    broken.write_bytes(broken.read_bytes()[:10])
    result = load(con, landing, "orders", D1)
    assert table(con, "select order_id from raw.orders") == [("o1",)]
    assert [f.status for f in result.files] == ["loaded", "quarantined"]


def test_full_snapshot_source_rejects_a_header_only_file(con, landing):
    write_products(landing, D1, rows=[])
    result = load(con, landing, "products", D1)
    assert result.files[0].status == "quarantined"
    assert "required" in result.files[0].reason


def test_unknown_columns_are_recorded_as_drift_and_ignored(con, landing):
    write_products(
        landing, D1, [r + ["extra"] for r in product_rows(2)], header=PRODUCT_HEADER + ["colour"]
    )
    result = load(con, landing, "products", D1)
    assert result.drift == ["colour"]
    assert table(con, "select schema_drift from audit.load_log") == [('["colour"]',)]
    assert table(con, "select count(*) from raw.products") == [(2,)]


def test_a_day_without_success_marker_is_not_loaded(con, landing):
    write_orders(landing, D1, [order("o1", D1)], ready=False)
    with pytest.raises(LoadError, match="no _SUCCESS marker"):
        load(con, landing, "orders", D1)


def test_customer_key_is_the_hmac_of_customer_id(con, landing):
    write_orders(
        landing,
        D1,
        [order("o1", D1, customer_id="C42"), order("o2", D1, customer_id=None, store="tmall")],
    )
    load(con, landing, "orders", D1)
    keys = dict(table(con, "select order_id, customer_key from raw.orders"))
    assert keys["o1"] == hmac.new(KEY, b"C42", hashlib.sha256).hexdigest()
    assert keys["o2"] is None


def test_the_same_bytes_load_the_same_whatever_the_gzip_wrapper(con, landing):
    # A file written by another gzip implementation (with a file name and mtime) loads the same.
    path = write_orders(landing, D1, [order("o1", D1)])
    raw = gzip.decompress(path.read_bytes())
    with gzip.GzipFile(
        filename="orders.jsonl", mode="wb", fileobj=path.open("wb"), mtime=1_700_000_000
    ) as handle:
        handle.write(raw)
    result = load(con, landing, "orders", D1)
    assert result.rows_loaded == 1


def test_cleanup_removes_emptied_folders_and_their_journal_entries(con, landing, monkeypatch):
    write_orders(landing, D1, [order("o1", D1)])
    load(con, landing, "orders", D1)
    load(con, landing, "orders", D1)  # a re-run: the first version's folder is replaced
    lake = data_files(con, "orders")[0].parents[2]

    def journal() -> list[str]:
        return [f for (f,) in table(con, "select folder from lake.writes where source = 'orders'")]

    assert journal() == [data_files(con, "orders")[0].parent.relative_to(lake.parent).as_posix()]

    # A first load of another date dies after writing its data file, before its own cleanup.
    write_orders(landing, D2, [order("o2", D2)])

    def fail(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_refresh_view", fail)
    monkeypatch.setattr(loader.shutil, "rmtree", lambda *_a, **_k: None)
    with pytest.raises(RuntimeError, match="disk full"):
        load(con, landing, "orders", D2)
    assert (lake / D2.isoformat()).is_dir()
    assert len(journal()) == 2
    monkeypatch.undo()

    # The next load of any date removes the dead folder, the date folder it emptied, and both
    # from the journal, which keeps only the folders that still hold data.
    load(con, landing, "orders", D1)
    assert not (lake / D2.isoformat()).exists()
    assert sorted(p.name for p in lake.iterdir()) == [D1.isoformat()]
    assert journal() == [data_files(con, "orders")[0].parent.relative_to(lake.parent).as_posix()]
