"""The warehouse's vacuum runs on the nights it is due (orchestration/lib/vacuum.py): a dbt
build told `vacuum: false` leaves the row groups deletes thinned as they are, one without it
merges them, and the Dagster run decides from the tables' deleted rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from orchestration.lib.resources import WarehouseResource
from orchestration.lib.vacuum import MIN_DELETED_ROWS, deleted_rows, fragmented_tables
from tests.dbt.conftest import run_dbt
from tests.pipeline.e2e import END

ROW_GROUP = 122_880


def _thin(warehouse: Path, rows: int, keep_every: int) -> None:
    """A table `scratch.thinned` of `rows` rows, of which one in `keep_every` is left, its
    tombstones kept (no vacuum at the checkpoint)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set max_vacuum_tasks = 0")
        con.execute("create schema if not exists scratch")
        con.execute(
            f"create or replace table scratch.thinned as select range as id from range({rows})"
        )
        con.execute("checkpoint")
        con.execute(f"delete from scratch.thinned where id % {keep_every} <> 0")
        con.execute("checkpoint")
    finally:
        con.close()


def _deleted(warehouse: Path) -> dict[str, tuple[int, int]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return deleted_rows(con)
    finally:
        con.close()


def test_a_table_asks_for_a_vacuum_once_its_deleted_rows_pass_a_share_and_a_row_group(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    _thin(warehouse, 4 * ROW_GROUP, keep_every=4)  # 3/4 deleted: 368,640 of 491,520
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("set max_vacuum_tasks = 0")
        # a few deletes in a large table, and a small table all of whose rows are deleted
        con.execute(f"create table scratch.large as select range as id from range({4 * ROW_GROUP})")
        con.execute("create table scratch.small as select range as id from range(1000)")
        con.execute("checkpoint")
        con.execute(f"delete from scratch.large where id < {ROW_GROUP // 2}")
        con.execute("delete from scratch.small where id % 2 = 0")
        con.execute("checkpoint")
        deleted = deleted_rows(con)
        fragmented = fragmented_tables(con)
    finally:
        con.close()
    assert deleted["scratch.thinned"] == (3 * ROW_GROUP, ROW_GROUP)
    assert deleted["scratch.large"] == (ROW_GROUP // 2, 4 * ROW_GROUP - ROW_GROUP // 2)
    assert deleted["scratch.small"] == (500, 500)  # half deleted, fewer than a row group
    assert MIN_DELETED_ROWS > 500
    assert fragmented == {"scratch.thinned": (3 * ROW_GROUP, ROW_GROUP)}


def test_the_pipelines_connections_never_vacuum(tmp_path):
    resource = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with resource.connect() as con:
        assert con.execute("select current_setting('max_vacuum_tasks')").fetchone() == (0,)


def test_a_build_vacuums_only_when_the_run_says_it_is_due(simulated_run, tmp_path):
    settings, _, _ = simulated_run
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    _thin(warehouse, 4 * ROW_GROUP, keep_every=4)
    thinned = (3 * ROW_GROUP, ROW_GROUP)
    assert _deleted(warehouse)["scratch.thinned"] == thinned

    def nightly_build(**vars_: object) -> None:
        # a model a night rebuilds by dates: its delete+insert makes the checkpoint at dbt's
        # exit, which is where DuckDB vacuums every table's thinned row groups
        scope = {"start_date": str(END), "end_date": str(END), **vars_}
        scratch = tmp_path / "dbt"
        done = run_dbt(warehouse, scratch, "run", "-s", "fct_orders", "--vars", json.dumps(scope))
        assert done.returncode == 0, done.stdout[-2000:]

    nightly_build(vacuum=False)
    assert _deleted(warehouse)["scratch.thinned"] == thinned
    nightly_build(vacuum=True)
    deleted, live = _deleted(warehouse)["scratch.thinned"]
    assert live == ROW_GROUP and deleted < ROW_GROUP // 2, deleted


def test_the_nightly_run_told_dbt_to_leave_the_vacuum_off(simulated_run):
    """The simulated run's warehouse has no table past the share: its last nightly build
    turned DuckDB's vacuum off (the hook's statement is in dbt's log of that invocation)."""
    settings, _, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        assert fragmented_tables(con) == {}
    finally:
        con.close()
    target = settings.dbt_run_target
    log = "".join(
        path.read_text() for path in (target / "dbt.log.1", target / "dbt.log") if path.exists()
    )
    last_invocation = log[log.rindex("Running with dbt") :]
    assert "set global max_vacuum_tasks = 0" in last_invocation
