"""A nightly run's dbt costs a day: staging tests run in full builds only, a model that says so
is tested on the dates the run rebuilt (macros/tested_rows.sql), both on a copy of the simulated
run's warehouse, whose int_rebuilt_dates holds the last nightly run's dates; and the run's dates
reach dbt without making it parse the project again."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from assets.dbt.definitions import RUN_SCOPE_ENV, growth_dbt_models, started_with_scope
from tests.dbt.conftest import run_dbt
from tests.pipeline.e2e import END, START

SCOPED_TEST = "unique_int_sessions_session_key"


def test_a_nightly_run_tests_the_rebuilt_dates_and_a_full_build_everything(simulated_run, tmp_path):
    settings, _, _ = simulated_run
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        # a date the night restated for another source (an order's): int_sessions rebuilds
        # the event dates only, so its tests read from the first of those on
        con.execute(
            "insert into intermediate.int_rebuilt_dates (date_day, reason) "
            "values (date '2025-12-10', 'orders')"
        )
        # a repeated session key on a date no run rebuilt, one on the order's date, and one on
        # the nightly run's date
        for key, day in (
            ("old-repeat", "2025-12-01"),
            ("order-date-repeat", "2025-12-10"),
            ("new-repeat", END.isoformat()),
        ):
            for _ in range(2):
                con.execute(
                    "insert into intermediate.int_sessions select * replace ("
                    "? as session_key, cast(? as date) as session_date) "
                    "from intermediate.int_sessions limit 1",
                    [key, day],
                )
        (first_rebuilt,) = con.execute(
            "select min(date_day) from intermediate.int_rebuilt_dates where reason = 'events'"
        ).fetchall()[0]
    finally:
        con.close()
    assert first_rebuilt is not None and first_rebuilt.isoformat() > "2025-12-10"

    def results(*vars_: str) -> dict[str, dict]:
        scratch = tmp_path / f"dbt{len(vars_)}"
        run_dbt(warehouse, scratch, "test", "--select", "int_sessions stg_orders__orders", *vars_)
        run = json.loads((scratch / "target" / "run_results.json").read_text())
        return {r["unique_id"].split(".")[2]: r for r in run["results"]}

    nightly = results("--vars", json.dumps({"start_date": str(END), "end_date": str(END)}))
    assert nightly[SCOPED_TEST]["status"] == "fail"
    assert nightly[SCOPED_TEST]["failures"] == 1  # the rebuilt date's repeat only
    assert not [name for name in nightly if "stg_orders__orders" in name]

    full = results()
    assert full[SCOPED_TEST]["failures"] == 3
    staging = [name for name in full if "stg_orders__orders" in name]
    assert staging and all(full[name]["status"] == "pass" for name in staging)


def test_a_run_reaches_dbt_as_its_scope_and_dbt_parses_only_what_changed(simulated_run):
    """The Dagster runs pass their dates in the environment: dbt compiled int_sessions over the
    run's event dates (a daily build, not a full one), and parsed nothing again, since its
    partial-parse state in the home's target folder still held (vars on the command line
    would have made it parse the whole project)."""
    settings, _, _ = simulated_run
    target = settings.dbt_run_target
    compiled = target / "compiled/growth/models/intermediate/traffic/int_sessions.sql"
    assert f"cast('{END}' as date)" in compiled.read_text()
    log = "".join(
        path.read_text() for path in (target / "dbt.log.1", target / "dbt.log") if path.exists()
    )
    last_invocation = log[log.rindex("Running with dbt") :]
    assert "Partial parsing enabled" in last_invocation
    assert "Unable to do partial parsing" not in last_invocation


def test_a_nightly_run_leaves_out_the_seeds_last_loaded_and_tested(simulated_run):
    """The backfill loaded and tested every seed; the night after it, with the same seed
    files, leaves them and their tests out of dbt, and their assets say so."""
    settings, _, _ = simulated_run
    manifest = json.loads((settings.dbt_run_target / "manifest.json").read_text())
    seeds = {uid: n["name"] for uid, n in manifest["nodes"].items() if n["resource_type"] == "seed"}
    assert len(seeds) > 5
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        recorded = {seed for (seed,) in con.execute("select seed from audit.seed_loads").fetchall()}
    assert recorded == set(seeds)

    # the fixture's runs, the backfill and the first night (other tests run more, in any order)
    instance = dg.DagsterInstance.get()

    def first_run(start, end) -> str:
        records = instance.get_run_records(
            filters=dg.RunsFilter(
                tags={
                    "dagster/asset_partition_range_start": start.isoformat(),
                    "dagster/asset_partition_range_end": end.isoformat(),
                }
            )
        )
        return min(records, key=lambda record: record.create_timestamp).dagster_run.run_id

    def events(run_id: str, kind: dg.DagsterEventType) -> list:
        return [entry.dagster_event for entry in instance.all_logs(run_id, of_type=kind)]

    seed_keys = {get_asset_key_for_model([growth_dbt_models], name) for name in seeds.values()}
    sessions = get_asset_key_for_model([growth_dbt_models], "int_sessions")
    for run_id, seeds_built in (
        (first_run(START, END - dt.timedelta(days=1)), True),
        (first_run(END, END), False),
    ):
        checked = {
            e.asset_check_evaluation_data.asset_key
            for e in events(run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        }
        materialized = {
            e.asset_key: e.event_specific_data.materialization.metadata
            for e in events(run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
        }
        assert sessions in materialized and seed_keys <= set(materialized)
        assert bool(seed_keys & checked) is seeds_built
        assert all(("reloaded" in materialized[key]) is not seeds_built for key in seed_keys)
        if not seeds_built:
            assert all(materialized[key]["reloaded"].value is False for key in seed_keys)


def test_the_run_scope_is_in_the_dbt_process_environment_only(monkeypatch):
    seen = {}

    class RecordingDbt:
        def cli(self, **kwargs):
            seen["scope"] = os.environ.get(RUN_SCOPE_ENV)
            seen["kwargs"] = kwargs
            return "invocation"

    monkeypatch.setenv(RUN_SCOPE_ENV, "a scope set by hand")
    scope = {"start_date": "2026-03-02", "end_date": "2026-03-03", "held_back_dates": []}
    assert started_with_scope(RecordingDbt(), scope, args=["build"]) == "invocation"
    assert json.loads(seen["scope"]) == scope
    assert seen["kwargs"] == {"args": ["build"]}
    assert os.environ[RUN_SCOPE_ENV] == "a scope set by hand"
    monkeypatch.delenv(RUN_SCOPE_ENV)
    started_with_scope(RecordingDbt(), scope, args=["build"])
    assert RUN_SCOPE_ENV not in os.environ


def test_a_seed_materialized_by_hand_is_loaded_and_tested(simulated_run):
    """Assets picked in the UI are built as asked: a seed among them is loaded and tested,
    however unchanged, and its record renewed."""
    from orchestration.lib.resources import build_resources

    settings, _, _ = simulated_run
    seed = "seed.growth.koc_tiers"

    def loaded_at():
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            return con.execute(
                "select loaded_at from audit.seed_loads where seed = ?", [seed]
            ).fetchall()

    (before,) = loaded_at()
    key = get_asset_key_for_model([growth_dbt_models], "koc_tiers")
    result = dg.materialize(
        [growth_dbt_models],
        selection=[key],
        partition_key=END.isoformat(),
        resources=build_resources(),
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("growth_dbt_models")
    assert materialization.asset_key == key and "reloaded" not in materialization.metadata
    last = json.loads((settings.dbt_run_target / "run_results.json").read_text())
    statuses = {
        r["unique_id"]: r["status"]
        for r in last["results"]
        if not r["unique_id"].startswith("operation.")  # the on-run-start hooks
    }
    assert statuses.pop(seed) == "success"
    assert statuses and all(
        uid.startswith("test.") and status == "pass" for uid, status in statuses.items()
    )
    (after,) = loaded_at()
    assert after > before
