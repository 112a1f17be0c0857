"""The SQL helpers every writer of the warehouse shares (orchestration/lib/sql.py)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from orchestration.lib.sql import quoted, table_exists, transaction


def test_an_identifier_is_quoted_whatever_it_holds():
    con = duckdb.connect()
    name = 'odd "name" with spaces'
    con.execute(f"create table {quoted(name)} (x integer)")
    assert con.execute("select table_name from information_schema.tables").fetchall() == [(name,)]


def test_a_transaction_commits_its_block_or_none_of_it_and_unregisters_its_frames():
    con = duckdb.connect()
    con.execute("create table t (x integer)")
    with transaction(con, rows=pa.table({"x": [1, 2]})):
        con.execute("insert into t select x from rows")
    assert con.execute("select list(x order by x) from t").fetchone()[0] == [1, 2]
    with pytest.raises(duckdb.CatalogException):
        con.execute("select * from rows")

    with pytest.raises(ValueError, match="half way"), transaction(con, rows=pa.table({"x": [3]})):
        con.execute("insert into t select x from rows")
        raise ValueError("half way")
    assert con.execute("select list(x order by x) from t").fetchone()[0] == [1, 2]
    with pytest.raises(duckdb.CatalogException):
        con.execute("select * from rows")


def test_a_rollback_that_fails_too_does_not_hide_the_error_that_caused_it():
    con = duckdb.connect()
    with pytest.raises(ValueError, match="the cause") as raised, transaction(con):
        con.execute("commit")  # the transaction ends early, as a failed WAL write ends it
        raise ValueError("the cause")
    assert any("the rollback after it failed too" in note for note in raised.value.__notes__)


def test_a_table_exists_in_its_schema_only_and_a_view_is_no_table():
    con = duckdb.connect()
    con.execute("create schema audit")
    assert not table_exists(con, "audit", "gate_results")
    con.execute("create view audit.gate_results as select 1 as x")
    assert not table_exists(con, "audit", "gate_results")
    con.execute("drop view audit.gate_results")
    con.execute("create table audit.gate_results (x integer)")
    assert table_exists(con, "audit", "gate_results")
    assert not table_exists(con, "main", "gate_results")
