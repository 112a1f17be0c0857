"""A nightly run's dbt tests cost a day: staging tests run in full builds only, and a model
that says so is tested on the dates the run rebuilt (macros/tested_rows.sql). Both on a copy of
the simulated run's warehouse, whose int_rebuilt_dates holds the last nightly run's dates."""

from __future__ import annotations

import json
import shutil

import duckdb

from tests.dbt.conftest import run_dbt
from tests.pipeline.e2e import END

SCOPED_TEST = "unique_int_sessions_session_key"


def test_a_nightly_run_tests_the_rebuilt_dates_and_a_full_build_everything(simulated_run, tmp_path):
    settings, _, _ = simulated_run
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        # a repeated session key on a date no run rebuilt, and one on the nightly run's date
        for key, day in (("old-repeat", "2025-12-01"), ("new-repeat", END.isoformat())):
            for _ in range(2):
                con.execute(
                    "insert into intermediate.int_sessions select * replace ("
                    "? as session_key, cast(? as date) as session_date) "
                    "from intermediate.int_sessions limit 1",
                    [key, day],
                )
        (first_rebuilt,) = con.execute(
            "select min(date_day) from intermediate.int_rebuilt_dates"
        ).fetchall()[0]
    finally:
        con.close()
    assert first_rebuilt is not None and first_rebuilt.isoformat() > "2025-12-01"

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
    assert full[SCOPED_TEST]["failures"] == 2
    staging = [name for name in full if "stg_orders__orders" in name]
    assert staging and all(full[name]["status"] == "pass" for name in staging)
