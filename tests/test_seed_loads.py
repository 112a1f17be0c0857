"""Seeds are left out of a build only as they were last loaded and tested
(orchestration/lib/seed_loads.py): over the project's own seeds, in a copy of its files, against
an in-memory warehouse holding their tables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.dbt_project import DBT_PROJECT_DIR, ensure_manifest
from orchestration.lib.seed_loads import record_seed_loads, unchanged_seeds


@pytest.fixture(scope="module")
def nodes() -> dict:
    return json.loads(ensure_manifest().read_text())["nodes"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR / "seeds", tmp_path / "seeds")
    shutil.copy(DBT_PROJECT_DIR / "dbt_project.yml", tmp_path / "dbt_project.yml")
    return tmp_path


def _seeds(nodes: dict) -> dict[str, dict]:
    return {uid: n for uid, n in nodes.items() if n["resource_type"] == "seed"}


def _tests_of(nodes: dict, seed: str) -> list[str]:
    return [
        uid
        for uid, n in nodes.items()
        if n["resource_type"] == "test" and seed in n["depends_on"]["nodes"]
    ]


@pytest.fixture
def warehouse(nodes: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for node in _seeds(nodes).values():
        con.execute(f'create schema if not exists "{node["schema"]}"')
        con.execute(f'create table "{node["schema"]}"."{node["alias"]}" (value varchar)')
    return con


def _build(nodes: dict, failing: tuple[str, ...] = (), missing: tuple[str, ...] = ()) -> list:
    """run_results' results of a build that loaded every seed and ran their tests."""
    results = []
    for uid in _seeds(nodes):
        results.append({"unique_id": uid, "status": "success"})
        for test in _tests_of(nodes, uid):
            if test not in missing:
                results.append({"unique_id": test, "status": "fail" if test in failing else "pass"})
    return results


def test_a_seed_is_left_out_until_a_file_that_makes_it_changes(nodes, project, warehouse):
    seeds = {n["name"] for n in _seeds(nodes).values()}
    assert len(seeds) > 5
    assert unchanged_seeds(warehouse, nodes, project) == {}  # nothing recorded yet

    assert set(record_seed_loads(warehouse, nodes, _build(nodes), project)) == seeds
    assert set(unchanged_seeds(warehouse, nodes, project)) == seeds

    # an analyst edits one seed: it alone is loaded and tested again
    rules = project / "seeds" / "channel_grouping_rules.csv"
    rules.write_text(rules.read_text() + "\n")
    assert set(unchanged_seeds(warehouse, nodes, project)) == seeds - {"channel_grouping_rules"}

    # the YAML that configures the seeds (column types, tests): all of them
    properties = project / "seeds" / "_seeds.yml"
    properties.write_text(properties.read_text() + "\n# edited\n")
    assert unchanged_seeds(warehouse, nodes, project) == {}


def test_a_failed_or_missing_test_or_a_dropped_table_loads_the_seed_again(
    nodes, project, warehouse
):
    by_name = {n["name"]: uid for uid, n in _seeds(nodes).items()}
    tiers, rules = by_name["koc_tiers"], by_name["channel_grouping_rules"]
    weights = by_name["koc_score_weights"]
    failing = _tests_of(nodes, tiers)[:1]
    missing = _tests_of(nodes, rules)[:1]
    assert failing and missing
    recorded = record_seed_loads(
        warehouse, nodes, _build(nodes, tuple(failing), tuple(missing)), project
    )
    assert "koc_tiers" not in recorded and "channel_grouping_rules" not in recorded

    node = nodes[weights]
    warehouse.execute(f'drop table "{node["schema"]}"."{node["alias"]}"')
    # a table loaded by hand since (a `dbt seed` of an edited file, reverted after)
    by_hand = nodes[by_name["crm_thresholds"]]
    warehouse.execute(f'insert into "{by_hand["schema"]}"."{by_hand["alias"]}" values (\'x\')')
    left_out = set(unchanged_seeds(warehouse, nodes, project))
    assert left_out == set(recorded) - {"koc_score_weights", "crm_thresholds"}

    # a later build that passes them records them; a seed it left out keeps its record
    again = [r for r in _build(nodes) if r["unique_id"] != weights]
    again = [r for r in again if r["unique_id"] not in _tests_of(nodes, weights)]
    record_seed_loads(warehouse, nodes, again, project)
    assert warehouse.execute(
        "select count(*) from audit.seed_loads where seed = ?", [weights]
    ).fetchall() == [(1,)]
    # and one that failed its test forgets it
    record_seed_loads(warehouse, nodes, _build(nodes, tuple(_tests_of(nodes, weights))), project)
    assert warehouse.execute(
        "select count(*) from audit.seed_loads where seed = ?", [weights]
    ).fetchall() == [(0,)]
