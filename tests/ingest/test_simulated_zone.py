"""Every source of a simulated landing zone with every deviation of sources.md injected
(`--faults`): each fault is caught as the simulator's truth says, nothing else is lost, loads are
repeatable and order-independent, and no clear personal data reaches the warehouse."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from assets.ingest.loader import LoadError, is_ready, load_day, load_source_specs
from orchestration.simulator import simulate
from orchestration.simulator.faults import FAULT_KINDS
from tests.ingest.lake import data_files, text_columns

START = dt.date(2026, 3, 1)
DAYS = 10  # at least nine, so every fault kind gets its own source and day
DATES = [START + dt.timedelta(days=i) for i in range(DAYS)]
KEY = b"zone-test-key"
SPECS = load_source_specs()


def load_zone(landing: Path, warehouse: Path, dates: list[dt.date]) -> dict:
    """Loads every ready (source, date); returns the day results and the dates not ready."""
    results, not_ready = {}, []
    con = duckdb.connect(str(warehouse))
    try:
        for day in dates:
            for name, spec in SPECS.items():
                if not is_ready(landing, name, day):
                    not_ready.append((name, day.isoformat()))
                    with pytest.raises(LoadError):
                        load_day(con, spec, landing, day, KEY, log_fn=lambda _: None)
                    continue
                results[(name, day.isoformat())] = load_day(
                    con, spec, landing, day, KEY, log_fn=lambda _: None
                )
    finally:
        con.close()
    return {"days": results, "not_ready": not_ready}


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'audit') order by 1, 2"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema || '.' || table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if c != "loaded_at"  # the audit log's only wall-clock column
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"select {select} from {table} order by all").fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    root = tmp_path_factory.mktemp("zone")
    landing = root / "landing"
    truth = simulate(landing, START, DAYS, scale="small", seed=5, faults=True)
    loaded = load_zone(landing, root / "in_order.duckdb", DATES)
    return {"root": root, "landing": landing, "truth": truth, **loaded}


def test_each_fault_is_caught_as_the_truth_expects(zone):
    # every kind of sources.md's deviation table is in this zone (not a vacuous loop below)
    assert {f["kind"] for f in zone["truth"]["faults"]} == {kind for kind, *_ in FAULT_KINDS}
    for fault in zone["truth"]["faults"]:
        key = (fault["source"], fault["date"])
        if fault["expected"] == "not_ingested":
            assert key in zone["not_ready"], fault
            continue
        day = zone["days"][key]
        (file_result,) = [f for f in day.files if f.file.endswith("/" + fault["file"])]
        assert file_result.reconciles(), fault
        if fault["expected"] == "file_quarantined":
            assert file_result.status == "quarantined", fault
            assert file_result.rows_loaded == 0
        elif fault["expected"] == "rows_quarantined":
            assert file_result.status == "loaded", fault
            assert file_result.rows_quarantined == fault["rows"], fault
        elif fault["expected"] == "drift_recorded":
            assert fault["column"] in file_result.drift, fault
            assert file_result.rows_quarantined == 0
        else:
            pytest.fail(f"unknown expectation {fault['expected']}")


def test_quarantine_holds_exactly_the_injected_rows_and_files(zone):
    con = duckdb.connect(str(zone["root"] / "in_order.duckdb"), read_only=True)
    quarantined = con.execute(
        "select source, cast(business_date as varchar), file, line from audit.quarantine"
    ).fetchall()
    con.close()
    expected = set()
    for fault in zone["truth"]["faults"]:
        path = f"{fault['source']}/{fault['date']}/{fault['file']}"
        if fault["expected"] == "file_quarantined":
            expected.add((fault["source"], fault["date"], path, None))
        elif fault["expected"] == "rows_quarantined":
            expected.update((fault["source"], fault["date"], path, n) for n in fault["lines"])
    assert set(quarantined) == expected  # nothing good was quarantined, nothing bad loaded


def test_every_file_reconciles(zone):
    for day in zone["days"].values():
        for file_result in day.files:
            assert file_result.reconciles(), file_result


def test_loading_in_reverse_order_and_again_gives_identical_tables(zone):
    in_order = snapshot(zone["root"] / "in_order.duckdb")
    reversed_path = zone["root"] / "reversed.duckdb"
    load_zone(zone["landing"], reversed_path, list(reversed(DATES)))
    assert snapshot(reversed_path) == in_order
    load_zone(zone["landing"], reversed_path, DATES[3:6])  # re-run a range
    assert snapshot(reversed_path) == in_order


def test_no_clear_phone_or_unionid_anywhere_in_the_warehouse(zone):
    secrets = set()
    for path in (zone["landing"] / "customers").glob("*/customers.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            secrets.update(v for k in ("phone", "wechat_unionid") if (v := record.get(k)))
    assert len(secrets) > 100
    con = duckdb.connect(str(zone["root"] / "in_order.duckdb"), read_only=True)
    table_text_columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR'"
    ).fetchall()
    con.execute("create temp table secrets (value varchar)")
    con.executemany("insert into secrets values (?)", [(s,) for s in secrets])
    leaks = []
    for schema, table, column in table_text_columns:
        # Values are compared whole (a hash join); free text (the audit tables, a few hundred
        # rows) is also searched inside.
        match = (
            f'strpos(t."{column}", s.value) > 0' if schema == "audit" else f't."{column}" = s.value'
        )
        hits = con.execute(
            f'select count(*) from {schema}."{table}" t join secrets s on {match}'
        ).fetchall()[0][0]
        if hits:
            leaks.append(f"{schema}.{table}.{column}: {hits}")
    # The data files behind the raw views, every text column (invalid records included).
    files = data_files(con)
    assert files
    for data_file in files:
        relation = f"read_parquet('{data_file}')"
        for column in text_columns(con, data_file):
            hits = con.execute(
                f'select count(*) from {relation} t join secrets s on t."{column}" = s.value'
            ).fetchall()[0][0]
            if hits:
                leaks.append(f"{data_file}.{column}: {hits}")
    con.close()
    assert not leaks
