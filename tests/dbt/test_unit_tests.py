"""The dbt project's unit tests (`unit_tests:` in the models' YAML) run in pytest, so `make
test` fails when a model breaks one of the rules they pin down (first orders, channels, money).

dbt reads the column types of a unit test's inputs from the warehouse, so the models and sources
they mock must exist: one hand-made day of every source is loaded and the models are built
first."""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from assets.ingest.loader import load_day, load_source_specs
from tests.landing import write_all_sources

D1 = dt.date(2026, 3, 1)


def test_every_dbt_unit_test_passes(tmp_path, dbt):
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    write_all_sources(landing, D1)
    con = duckdb.connect(str(warehouse))
    try:
        for spec in load_source_specs().values():
            load_day(con, spec, landing, D1, b"k", log_fn=lambda _: None)
    finally:
        con.close()
    # the models the unit tests read their column types from (an incremental model's `this`
    # too), then every unit test
    result = dbt(warehouse, "build", "--exclude-resource-type", "unit_test")
    assert result.returncode == 0, result.stdout[-3000:]
    result = dbt(warehouse, "test", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout[-3000:]
    target = tmp_path / "dbt" / "target"
    declared = set(json.loads((target / "manifest.json").read_text())["unit_tests"])
    ran = {
        r["unique_id"]: r["status"]
        for r in json.loads((target / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("unit_test.")
    }
    assert declared, "the project declares no unit tests"
    assert ran == dict.fromkeys(declared, "pass")
