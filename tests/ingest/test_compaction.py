"""Compaction of the raw lake (assets/ingest/loader/compaction.py): a closed month's daily data
files are also written as one file, which the raw view reads instead, and the view shows
exactly the rows it showed before; a reload of one of the month's dates puts the view back on
the daily files, and the month is compacted again."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import duckdb
import pytest

from assets.ingest.loader import LoadError, load_source_specs
from assets.ingest.loader.compaction import (
    CLOSED_AFTER_DAYS,
    compact_closed_months,
    compacted_files,
)
from assets.ingest.loader.lake import manifest_paths, raw_lake
from assets.ingest.loader.specs import SOURCES_FILE
from tests.ingest.lake import data_files
from tests.ingest.loading import SPECS, load, table
from tests.landing import order, supplier_row, write_orders, write_source_csv

# January has four folders, February three; the last lands more than CLOSED_AFTER_DAYS after
# January's end and less than that after February's
JANUARY = [dt.date(2026, 1, d) for d in (2, 3, 17, 31)]
FEBRUARY = [dt.date(2026, 2, d) for d in (1, 14, 20)]
assert FEBRUARY[-1] - dt.date(2026, 1, 31) > dt.timedelta(days=CLOSED_AFTER_DAYS)
assert FEBRUARY[-1] + dt.timedelta(days=CLOSED_AFTER_DAYS) < dt.date(2026, 3, 1)
ORDERS = SPECS["orders"]
VIEW = "select * from raw.orders order by _business_date, _source_file, _line"


def land_orders(landing, day: dt.date, amount: float = 100.0) -> None:
    """Two orders, one sent twice (a duplicate the loader drops and records by its line), and
    a record that breaks the contract (quarantined, kept in the data file as invalid)."""
    first, second = order(f"{day}-a", day, amount=amount), order(f"{day}-b", day, hour=11)
    broken = order(f"{day}-x", day, status="teleported")
    write_orders(landing, day, [first, broken, second, first])


@pytest.fixture
def loaded(con, landing) -> duckdb.DuckDBPyConnection:
    for day in [*JANUARY, *FEBRUARY]:
        land_orders(landing, day)
        load(con, landing, "orders", day)
    return con


def test_a_closed_month_is_read_from_one_file_with_the_same_rows(loaded, tmp_path):
    con = loaded
    before = table(con, VIEW)
    assert len(before) == 2 * 7  # the duplicate and the broken record are not in the view
    assert table(con, "select count(*) from audit.duplicates where source = 'orders'") == [(7,)]

    assert compact_closed_months(con, ORDERS) == [dt.date(2026, 1, 1)]
    (month_file,) = compacted_files(con, ORDERS)
    assert month_file.exists()
    assert table(con, VIEW) == before  # lines, dates and lineage included
    view_sql = table(con, "select sql from duckdb_views() where view_name = 'orders'")[0][0]
    assert str(month_file) in view_sql
    january_files = [p for p in data_files(con, "orders") if p.parts[-3].startswith("2026-01")]
    assert len(january_files) == 4
    assert not any(str(p) in view_sql for p in january_files)
    # the month file holds January's valid rows only, with their lines in their daily files
    assert table(con, f"select count(*), count(distinct _business_date) from '{month_file}'") == [
        (3 * 4, 4)
    ]
    # the daily files stay the truth: they are still in the lake and in the Spark manifest
    assert all(p.exists() for p in january_files)
    listed, _ = manifest_paths(raw_lake(con), ORDERS)
    assert table(con, f"select count(*) from '{listed}'") == [(7,)]
    # nothing more is due until another month closes
    assert compact_closed_months(con, ORDERS) == []

    # a copy of the warehouse and its lake reads its own month file
    con.close()
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path, copy, ignore=shutil.ignore_patterns("copy"))
    shutil.rmtree(tmp_path / "w.duckdb.raw")
    moved = duckdb.connect(str(copy / "w.duckdb"))
    try:
        load(moved, copy / "landing", "orders", FEBRUARY[-1])
        assert table(moved, VIEW) == before
        assert compacted_files(moved, ORDERS)[0].is_relative_to(copy)
    finally:
        moved.close()


def test_a_reloaded_date_puts_its_month_back_on_daily_files_until_compacted_again(loaded, landing):
    con = loaded
    compact_closed_months(con, ORDERS)
    (stale,) = compacted_files(con, ORDERS)

    land_orders(landing, JANUARY[2], amount=250.0)  # a correction of Jan 17
    load(con, landing, "orders", JANUARY[2])
    assert compacted_files(con, ORDERS) == []
    assert not stale.exists()  # deleted with the other unreferenced files of the load
    corrected = table(con, VIEW)
    assert table(
        con, "select paid_amount from raw.orders where order_id = ?", [f"{JANUARY[2]}-a"]
    ) == [(250,)]

    assert compact_closed_months(con, ORDERS) == [dt.date(2026, 1, 1)]
    (fresh,) = compacted_files(con, ORDERS)
    assert fresh != stale
    assert table(con, VIEW) == corrected


def test_a_month_file_gone_from_the_lake_is_forgotten_at_the_next_load(loaded, landing):
    con = loaded
    before = table(con, VIEW)
    compact_closed_months(con, ORDERS)
    compacted_files(con, ORDERS)[0].unlink()
    load(con, landing, "orders", FEBRUARY[-1])
    assert compacted_files(con, ORDERS) == []
    assert table(con, VIEW) == before


def test_sources_with_erasures_are_never_compacted(con):
    customers = SPECS["customers"]
    assert customers.erasure and not customers.compact_months
    assert not SPECS["events"].compact_months  # read by landing date only
    assert compact_closed_months(con, customers) == []


def test_a_source_with_erasures_cannot_ask_for_compaction(tmp_path):
    text = SOURCES_FILE.read_text(encoding="utf-8")
    marked = text.replace("    erasure:\n", "    compact_months: true\n    erasure:\n", 1)
    assert marked != text
    path = tmp_path / "sources.yml"
    path.write_text(marked, encoding="utf-8")
    with pytest.raises(LoadError, match="cannot compact its months"):
        load_source_specs(path)


def test_the_ingest_asset_compacts_what_its_run_closed(growth_home):
    from assets.ingest.definitions import build_ingest_asset
    from orchestration.lib.resources import build_resources

    # January's last two dates, then February's first eight: January closes on the last
    days = [dt.date(2026, 1, 30) + dt.timedelta(days=n) for n in range(10)]
    for day in days:
        write_source_csv(growth_home.landing, "suppliers", day, [supplier_row()])
    asset = build_ingest_asset(SPECS["suppliers"])
    result = dg.materialize(
        [asset],
        resources={"warehouse": build_resources()["warehouse"]},
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
    )
    assert result.success
    materializations = result.asset_materializations_for_node(asset.op.name)
    assert len(materializations) == len(days)  # one per date of the range
    assert materializations[0].metadata["compacted_months"].value == ["2026-01"]
    with duckdb.connect(str(growth_home.warehouse), read_only=True) as con:
        assert table(con, "select month from lake.compactions") == [(dt.date(2026, 1, 1),)]
        assert table(con, "select count(*) from raw.suppliers") == [(len(days),)]
