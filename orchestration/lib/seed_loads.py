"""Seeds are loaded, and their tests run, on the nights their files changed, not every night.

A seed is configuration an analyst edits (channel grouping rules, KOC tiers, thresholds): most
nights it is the same file as the night before, and `dbt build` would load it again and run its
tests again, which cannot fail on the same rows. On a small day that was 11 loads and 45 tests,
1.8-2.6 s of the build's node time, and it held the first models back: dbt runs a level of
the graph before the next, so the sessions (the longest model of a large day) waited for every
seed test to start.

What was loaded is recorded per seed in the warehouse (`audit.seed_loads`): a fingerprint of the
files that make the seed's table (its CSV, the YAML that configures it, dbt_project.yml) and of
dbt's version, and the table's row count and hash sum, written when the seed loaded and every
one of its tests passed in a build. A night whose files and table match leaves the seed and its
tests out of the build. Any edit of those files, a failed test, a table dropped or loaded by
hand, or another dbt loads it and tests it again. The fingerprint reads the files, not the
manifest Dagster loaded: a long-lived `dagster dev` keeps its manifest while an analyst edits a
seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

SEED_LOADS_COLUMNS = ["seed", "fingerprint", "table_rows", "table_hash", "loaded_at"]
SEED_LOADS_DDL = (
    "create schema if not exists audit; "
    "create table if not exists audit.seed_loads (seed varchar primary key, "
    "fingerprint varchar not null, table_rows bigint not null, table_hash varchar not null, "
    "loaded_at timestamp not null)"
)
# a test's outcome that leaves its seed as it was loaded
PASSED = ("pass", "success")


def _seeds(nodes: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: node for uid, node in nodes.items() if node.get("resource_type") == "seed"}


def _tests_of(nodes: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each node's tests, by the node's unique id."""
    tests: dict[str, list[str]] = {}
    for uid, node in nodes.items():
        if node.get("resource_type") == "test":
            for parent in node.get("depends_on", {}).get("nodes", []):
                tests.setdefault(parent, []).append(uid)
    return tests


def _table_contents(con: duckdb.DuckDBPyConnection, node: Mapping[str, Any]) -> tuple[int, str]:
    """The seed table's row count and the sum of its rows' hashes: a table loaded by hand (a
    `dbt seed` of an edited file since reverted) is not the one recorded."""
    relation = f'"{node["schema"]}"."{node["alias"]}"'
    rows, total = con.execute(
        f"select count(*), sum(hash(*columns(*))::hugeint) from {relation}"
    ).fetchall()[0]
    return int(rows), str(int(total or 0) % 2**64)


def _seed_loads_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'audit' "
            "and table_name = 'seed_loads' order by ordinal_position"
        ).fetchall()
    ]


def seed_fingerprint(node: Mapping[str, Any], project_dir: Path) -> str:
    """What the seed's table is made of: its file, the YAML that configures it, the project's
    configuration and dbt's version (a missing file fingerprints as missing)."""
    from dbt.version import __version__ as dbt_version

    files = [node["original_file_path"], "dbt_project.yml"]
    patch = node.get("patch_path")
    if patch:
        files.append(patch.split("://", 1)[-1])
    digest = hashlib.sha256(f"dbt {dbt_version}\n{node['schema']}.{node['alias']}\n".encode())
    for name in sorted(set(files)):
        path = project_dir / name
        digest.update(f"{name}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.exists() else b"-")
    return digest.hexdigest()


def unchanged_seeds(
    con: duckdb.DuckDBPyConnection, nodes: Mapping[str, Any], project_dir: Path
) -> dict[str, dt.datetime]:
    """The seeds (by name) whose files are those of their last load and test, and whose table
    the warehouse of `con` holds as it was then, with when they were loaded."""
    if _seed_loads_columns(con) != SEED_LOADS_COLUMNS:  # none recorded, or by another version
        return {}
    recorded = {
        seed: (fingerprint, (rows, table_hash), loaded_at)
        for seed, fingerprint, rows, table_hash, loaded_at in con.execute(
            "select seed, fingerprint, table_rows, table_hash, loaded_at from audit.seed_loads"
        ).fetchall()
    }
    tables = {
        (schema, name)
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    }
    tests_of = _tests_of(nodes)
    unchanged = {}
    for uid, node in _seeds(nodes).items():
        # a test of the seed and a model goes with the seed when it is left out: such a seed
        # is loaded every night, so the model's test runs
        own_tests = all(
            nodes[test]["depends_on"]["nodes"] == [uid] for test in tests_of.get(uid, [])
        )
        fingerprint, contents, loaded_at = recorded.get(uid, (None, None, None))
        if (
            own_tests
            and (node["schema"], node["alias"]) in tables
            and fingerprint == seed_fingerprint(node, project_dir)
            and contents == _table_contents(con, node)
        ):
            unchanged[node["name"]] = loaded_at
    return unchanged


def record_seed_loads(
    con: duckdb.DuckDBPyConnection,
    nodes: Mapping[str, Any],
    results: Iterable[Mapping[str, Any]],
    project_dir: Path,
) -> list[str]:
    """Records the seeds a build loaded and ran every test of, all passed (`nodes`: the build's
    manifest nodes, `results`: its run_results' results), and forgets those it loaded or tested
    otherwise. Returns the seeds recorded."""
    status = {result["unique_id"]: result.get("status") for result in results}
    tests_of = _tests_of(nodes)
    if _seed_loads_columns(con) not in ([], SEED_LOADS_COLUMNS):
        con.execute("drop table audit.seed_loads")  # another version's: recorded again
    con.execute(SEED_LOADS_DDL)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    recorded = []
    for uid, node in _seeds(nodes).items():
        tests = tests_of.get(uid, [])
        if uid not in status and not any(t in status for t in tests):
            continue  # left out of this build: its record stands
        # loaded and every test of it run and passed; anything less is loaded again next time
        if status.get(uid) == "success" and all(status.get(t) in PASSED for t in tests):
            con.execute(
                "insert or replace into audit.seed_loads values (?, ?, ?, ?, ?)",
                [uid, seed_fingerprint(node, project_dir), *_table_contents(con, node), now],
            )
            recorded.append(node["name"])
        else:
            con.execute("delete from audit.seed_loads where seed = ?", [uid])
    return recorded
