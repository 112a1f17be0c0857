"""The dbt project's unit tests (`unit_tests:` in the models' YAML) run in pytest, so `make
test` fails when a model breaks one of the rules they pin down (first orders, channels, money).

dbt reads the column types of a unit test's inputs from the warehouse, so the models they mock
must exist: one hand-made day of orders is loaded and the models are built first."""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from assets.ingest.loader import load_day, load_source_specs
from tests.landing import order, write_orders

D1 = dt.date(2026, 3, 1)


def test_every_dbt_unit_test_passes(tmp_path, dbt):
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    write_orders(landing, D1, [order("o1", D1), order("o2", D1, store="tmall", customer_id=None)])
    con = duckdb.connect(str(warehouse))
    try:
        load_day(con, load_source_specs()["orders"], landing, D1, b"k", log_fn=lambda _: None)
    finally:
        con.close()
    # every unit test, with the models and seeds upstream of the models they test (built first)
    result = dbt(warehouse, "build", "--select", "+test_type:unit")
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
