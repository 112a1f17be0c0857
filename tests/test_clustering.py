"""Tables built by date are put back in date order after a build of many dates: a backfill's
row groups each span its whole range, and every later night's scan then reads all of them."""

import duckdb
import pytest

from orchestration.lib.clustering import (
    MIN_ROW_GROUPS,
    RUN_DATES,
    cluster,
    clustered_tables,
    date_layout,
    layout_due,
    record_layout_check,
)

ROWS = (MIN_ROW_GROUPS + 1) * 122_880  # DuckDB's row group size


def _table(con: duckdb.DuckDBPyConnection, name: str, days: int, scattered: bool) -> None:
    # a prime stride walks every date in turn: each run of 122,880 rows holds all of them
    day = f"(i * 7919) % {days}" if scattered else f"i * {days} // {ROWS}"
    con.execute(
        f"create table marts.{name} as select "
        f"date '2025-01-01' + cast({day} as integer) as date_day, i as order_id, 'x' || i as note "
        f"from range({ROWS}) as t(i)"
    )


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    yield con
    con.close()


def test_a_backfilled_table_is_sorted_by_its_date_and_keeps_its_rows(warehouse):
    _table(warehouse, "fct_orders", days=365, scattered=True)
    before = warehouse.execute(
        "select sum(hash(*columns(*))), count(*) from marts.fct_orders"
    ).fetchall()
    columns = warehouse.execute("describe marts.fct_orders").fetchall()
    layout = date_layout(warehouse, "marts.fct_orders", "date_day")
    assert layout.scattered and layout.median_span_days == 364

    done = cluster(warehouse, {"marts.fct_orders": "date_day", "marts.gone": "date_day"})

    assert list(done) == ["marts.fct_orders"]
    after = date_layout(warehouse, "marts.fct_orders", "date_day")
    assert not after.scattered and after.median_span_days <= 365 / MIN_ROW_GROUPS
    assert (
        warehouse.execute(
            "select sum(hash(*columns(*))), count(*) from marts.fct_orders"
        ).fetchall()
        == before
    )
    assert warehouse.execute("describe marts.fct_orders").fetchall() == columns
    # a scan of one date now skips the row groups of the others
    plan = warehouse.execute(
        "explain analyze select count(*) from marts.fct_orders where date_day = date '2025-12-31'"
    ).fetchall()[0][1]
    assert "Row Groups Scanned: 1 /" in plan or "Row Groups Scanned: 2 /" in plan


def test_a_table_in_date_order_a_young_one_and_a_small_one_are_left_alone(warehouse):
    _table(warehouse, "in_order", days=365, scattered=False)
    _table(warehouse, "young", days=30, scattered=True)  # a month: scanned whole anyway
    warehouse.execute(
        "create table marts.small as select date '2025-01-01' + cast(i % 365 as integer) "
        "as date_day from range(1000) as t(i)"
    )
    tables = {f"marts.{name}": "date_day" for name in ("in_order", "young", "small")}
    assert cluster(warehouse, tables) == {}
    assert date_layout(warehouse, "marts.in_order", "date_day").median_span_days < 100


def test_the_tables_kept_by_date_are_the_models_the_manifest_marks():
    nodes = {
        "model.growth.fct_orders": {
            "resource_type": "model",
            "schema": "marts",
            "name": "fct_orders",
            "alias": "fct_orders",
            "config": {"meta": {"clustered_by": "date_day"}},
        },
        "model.growth.dim_customers": {
            "resource_type": "model",
            "schema": "marts",
            "name": "dim_customers",
            "alias": "dim_customers",
            "config": {"meta": {}},
        },
        "test.growth.unique_x": {
            "resource_type": "test",
            "config": {"meta": {"clustered_by": "d"}},
        },
    }
    assert clustered_tables(nodes) == {"marts.fct_orders": "date_day"}


def test_a_night_checks_once_on_a_warehouse_never_checked_and_a_backfill_always(warehouse):
    assert layout_due(warehouse, 1)  # built before the check existed
    record_layout_check(warehouse)
    assert not layout_due(warehouse, 1)
    assert not layout_due(warehouse, RUN_DATES)
    assert layout_due(warehouse, RUN_DATES + 1)
