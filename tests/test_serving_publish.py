"""The serving copy is published by difference: after any change to the marts it holds exactly
their rows, and a mart (or a date of one) that did not change is not copied again; nor is the
Parquet export of a month whose dates did not change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.serving.publish import publish_serving


@pytest.fixture
def marts(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema marts")
    con.execute(
        "create table marts.mart_daily as select date '2026-03-01' + (i % 5)::int as date_day, "
        "'c' || (i % 3) as channel, i * 1.5 as revenue from range(100) t(i)"
    )
    con.execute(
        "create table marts.mart_tiers as select 'tier' || i as tier, i as floor from range(4) t(i)"
    )
    yield con
    con.close()


def serving_rows(serving: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return sorted(con.execute(f"select * from marts.{table}").fetchall(), key=str)


def source_rows(marts: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return sorted(marts.execute(f"select * from marts.{table}").fetchall(), key=str)


def assert_published(marts, serving: Path, parquet: Path) -> None:
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        }
    assert tables == {
        name
        for (name,) in marts.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    for table in tables:
        assert serving_rows(serving, table) == source_rows(marts, table), table
        exported = duckdb.sql(f"select * from '{parquet / table}/*.parquet'").fetchall()
        assert sorted(exported, key=str) == source_rows(marts, table), table
    # only the marts' folders, no file of the one-file-per-mart layout
    assert {p.name for p in parquet.iterdir()} == tables


def test_a_changed_value_on_one_date_is_published_and_unchanged_marts_are_left(marts, tmp_path):
    serving, parquet = tmp_path / "serving" / "growth.duckdb", tmp_path / "serving" / "parquet"
    counts = publish_serving(marts, serving, parquet)
    assert counts == {"mart_daily": 100, "mart_tiers": 4}
    assert_published(marts, serving, parquet)
    tiers_export = (parquet / "mart_tiers" / "mart_tiers.parquet").stat().st_mtime_ns
    assert sorted(p.name for p in (parquet / "mart_daily").iterdir()) == [
        "mart_daily-2026-03.parquet"
    ]

    # same row count, one value changed, on one date: only a row hash can tell
    marts.execute(
        "update marts.mart_daily set revenue = revenue + 1 "
        "where date_day = date '2026-03-03' and channel = 'c1'"
    )
    # a new date, and a row with no date at all
    marts.execute(
        "insert into marts.mart_daily values (date '2026-03-09', 'c0', 7.0), (null, 'c2', 1.0)"
    )
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)
    assert (parquet / "mart_tiers" / "mart_tiers.parquet").stat().st_mtime_ns == tiers_export
    assert sorted(p.name for p in (parquet / "mart_daily").iterdir()) == [
        "mart_daily-2026-03.parquet",
        "mart_daily-undated.parquet",
    ]

    # rows leave a date, and a null date
    marts.execute(
        "delete from marts.mart_daily where date_day = date '2026-03-02' or date_day is null"
    )
    counts = publish_serving(marts, serving, parquet)
    assert counts["mart_daily"] == 81
    assert_published(marts, serving, parquet)


def test_a_mart_whose_columns_change_or_that_goes_away_is_replaced_whole(marts, tmp_path):
    serving, parquet = tmp_path / "growth.duckdb", tmp_path / "parquet"
    publish_serving(marts, serving, parquet)
    marts.execute("alter table marts.mart_tiers add column label varchar default 'x'")
    marts.execute("create table marts.mart_new as select 1 as n")
    marts.execute("create table marts.mart_empty as select 'x' as label where false")
    publish_serving(marts, serving, parquet)
    assert serving_rows(serving, "mart_tiers") == source_rows(marts, "mart_tiers")
    assert len(serving_rows(serving, "mart_tiers")[0]) == 3

    marts.execute("drop table marts.mart_new")
    publish_serving(marts, serving, parquet)
    with duckdb.connect(str(serving), read_only=True) as con:
        assert (
            con.execute(
                "select count(*) from information_schema.tables where table_name = 'mart_new'"
            ).fetchone()[0]
            == 0
        )
    assert not (parquet / "mart_new").exists()
    # an empty mart has its file, with its columns
    empty = duckdb.sql(f"describe select * from '{parquet}/mart_empty/*.parquet'").fetchall()
    assert [c[0] for c in empty] == ["label"]


def test_a_serving_file_the_fingerprints_do_not_describe_is_rebuilt_whole(marts, tmp_path):
    serving, parquet = tmp_path / "growth.duckdb", tmp_path / "parquet"
    publish_serving(marts, serving, parquet)
    # someone (or a crash) changed the published file after its fingerprints were written
    with duckdb.connect(str(serving)) as con:
        con.execute("delete from marts.mart_daily where channel = 'c0'")
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)


def test_a_serving_copy_restored_with_its_times_is_still_published_by_difference(marts, tmp_path):
    publish_serving(marts, tmp_path / "home" / "growth.duckdb", tmp_path / "home" / "parquet")
    # a GROWTH_HOME restored from a backup that kept modification times (cp -a)
    shutil.copytree(tmp_path / "home", tmp_path / "restored")
    serving, parquet = tmp_path / "restored" / "growth.duckdb", tmp_path / "restored" / "parquet"
    tiers_export = (parquet / "mart_tiers" / "mart_tiers.parquet").stat().st_mtime_ns
    marts.execute("update marts.mart_daily set revenue = 0 where date_day = date '2026-03-04'")
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)
    assert (parquet / "mart_tiers" / "mart_tiers.parquet").stat().st_mtime_ns == tiers_export


def test_only_the_months_whose_dates_changed_are_exported_again(marts, tmp_path):
    serving, parquet = tmp_path / "growth.duckdb", tmp_path / "parquet"
    marts.execute(
        "insert into marts.mart_daily select date '2026-01-31' + (i % 40)::int, 'c9', i "
        "from range(80) t(i)"
    )
    # an export of the earlier layout, which the publish replaces
    parquet.mkdir()
    (parquet / "mart_daily.parquet").write_bytes(b"an older export")
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)
    files = {p.name: p.stat().st_mtime_ns for p in (parquet / "mart_daily").iterdir()}
    assert sorted(files) == [f"mart_daily-2026-0{m}.parquet" for m in (1, 2, 3)]

    # a late correction to one February date, and March's last rows leave
    marts.execute("update marts.mart_daily set revenue = -1 where date_day = date '2026-02-10'")
    marts.execute("delete from marts.mart_daily where date_day >= date '2026-03-01'")
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)
    after = {p.name: p.stat().st_mtime_ns for p in (parquet / "mart_daily").iterdir()}
    assert sorted(after) == ["mart_daily-2026-01.parquet", "mart_daily-2026-02.parquet"]
    assert after["mart_daily-2026-01.parquet"] == files["mart_daily-2026-01.parquet"]
    assert after["mart_daily-2026-02.parquet"] != files["mart_daily-2026-02.parquet"]


def test_a_marts_schema_without_a_table_publishes_an_empty_copy(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema marts")
    try:
        assert publish_serving(con, tmp_path / "growth.duckdb", tmp_path / "parquet") == {}
    finally:
        con.close()
    assert (tmp_path / "growth.duckdb").exists()


def _files_beside(serving: Path) -> set[str]:
    return {p.name for p in serving.parent.iterdir() if p.name.endswith(".duckdb")}


def test_a_publish_that_fails_keeps_the_published_copy_and_leaves_no_partial_one(
    marts, tmp_path, monkeypatch
):
    import assets.serving.publish as publish

    serving, parquet = tmp_path / "serving" / "growth.duckdb", tmp_path / "serving" / "parquet"
    publish_serving(marts, serving, parquet)
    published = serving_rows(serving, "mart_daily")
    marts.execute("update marts.mart_daily set revenue = 0 where date_day = date '2026-03-02'")

    def failing(con, table):  # while the published file is being copied beside it
        raise duckdb.IOException(f"could not read {table}")

    monkeypatch.setattr(publish, "fingerprint", failing)
    with pytest.raises(duckdb.IOException):
        publish_serving(marts, serving, parquet)
    assert _files_beside(serving) == {"growth.duckdb"}
    assert serving_rows(serving, "mart_daily") == published
    monkeypatch.undo()
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)


def test_a_publish_that_fails_while_copying_detaches_the_copy_and_leaves_no_partial_one(
    marts, tmp_path, monkeypatch
):
    """The copy is built attached to the marts' own connection: a failure half way through
    leaves the published copy, no file beside it, and a connection that publishes again."""
    import assets.serving.publish as publish

    serving, parquet = tmp_path / "serving" / "growth.duckdb", tmp_path / "serving" / "parquet"
    publish_serving(marts, serving, parquet)
    published = serving_rows(serving, "mart_daily")
    marts.execute("update marts.mart_daily set revenue = 0 where date_day = date '2026-03-02'")
    copy_rows = publish._copy_rows

    def failing(con, table, where):  # after the copy's first statements ran
        copy_rows(con, table, where)
        raise duckdb.IOException(f"disk full copying {table}")

    monkeypatch.setattr(publish, "_copy_rows", failing)
    with pytest.raises(duckdb.IOException, match="disk full"):
        publish_serving(marts, serving, parquet)
    assert _files_beside(serving) == {"growth.duckdb"}
    assert serving_rows(serving, "mart_daily") == published
    assert marts.execute(
        "select count(*) from duckdb_databases() where database_name = 'serving_copy'"
    ).fetchone() == (0,)
    monkeypatch.undo()
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)


def test_the_replaced_file_is_freed_and_leftovers_of_dead_publishers_are_removed(marts, tmp_path):
    import subprocess
    import sys
    import time

    serving, parquet = tmp_path / "serving" / "growth.duckdb", tmp_path / "serving" / "parquet"
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(finished.stdout)
    alive = os.getppid()
    leftovers = {
        f".growth.{dead}.building.duckdb": False,  # a crashed publish's copy: removed
        f".growth.{dead}.retired.duckdb": False,
        f".growth.{alive}.building.duckdb": True,  # a running publisher's: kept
        ".growth.backup.duckdb": True,  # not a name the publisher gives
    }
    serving.parent.mkdir()
    for name in leftovers:
        (serving.parent / name).write_bytes(b"a copy")
    publish_serving(marts, serving, parquet)
    marts.execute("update marts.mart_daily set revenue = 0 where date_day = date '2026-03-02'")
    publish_serving(marts, serving, parquet)
    assert_published(marts, serving, parquet)
    expected = {"growth.duckdb"} | {name for name, kept in leftovers.items() if kept}
    deadline = time.monotonic() + 10
    while _files_beside(serving) != expected and time.monotonic() < deadline:
        time.sleep(0.05)  # the replaced copy is unlinked by a background thread
    assert _files_beside(serving) == expected


def _tombstones(serving: Path, table: str) -> int:
    """Rows deleted from the serving copy's table that its file still holds."""
    with duckdb.connect(str(serving), read_only=True) as con:
        ((stored,),) = con.execute(
            "select estimated_size from duckdb_tables() where table_name = ?", [table]
        ).fetchall()
        ((live,),) = con.execute(f"select count(*) from marts.{table}").fetchall()
    return stored - live


def test_deleted_rows_are_dropped_by_copying_the_mart_whole_past_half_its_rows(marts, tmp_path):
    """Publishing by difference leaves the replaced rows in the file (DuckDB's vacuum, which
    would merge them away at every checkpoint, is off); once they pass half the mart's rows the
    mart is copied whole, and the file holds none."""
    from assets.serving.publish import TOMBSTONE_SHARE

    serving, parquet = tmp_path / "serving" / "growth.duckdb", tmp_path / "serving" / "parquet"
    marts.execute("insert into marts.mart_daily select * from marts.mart_daily")  # 40 rows a day
    publish_serving(marts, serving, parquet)
    assert _tombstones(serving, "mart_daily") == 0
    held = []
    for day in range(1, 6):  # a night restates a date: 40 of the mart's 200 rows
        marts.execute(
            "update marts.mart_daily set revenue = revenue + 1 where date_day = ?",
            [f"2026-03-0{day}"],
        )
        publish_serving(marts, serving, parquet)
        assert_published(marts, serving, parquet)
        held.append(_tombstones(serving, "mart_daily"))
        assert held[-1] <= TOMBSTONE_SHARE * 200
    # 40, 80: kept; 120 would pass 100, so the third night copies whole, and it starts again
    assert held == [40, 80, 0, 40, 80]
