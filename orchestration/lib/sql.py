"""SQL the pipeline runs on DuckDB: identifiers quoted (as Spark's SQL quotes them too), and
transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb


def quoted(identifier: str) -> str:
    """`identifier` as a quoted SQL identifier: any name, a `"` inside it doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """`value` as a SQL string literal, a `'` inside it doubled."""
    return "'" + value.replace("'", "''") + "'"


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` is a table of the connection's database (not a view)."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, **frames: Any
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on `con`: committed when the block ends, rolled back when it raises.
    `frames` (Arrow tables, data frames) are registered under their names for the block's
    statements and unregistered after it."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        con.execute("begin transaction")
        try:
            yield con
            con.execute("commit")
        except BaseException as exc:
            # The failed statement may have ended the transaction already (a WAL that cannot
            # be written): a failing rollback must not replace the error that caused it.
            try:
                con.execute("rollback")
            except duckdb.Error as cleanup:
                exc.add_note(f"(the rollback after it failed too: {cleanup})")
            raise
    finally:
        for name in frames:
            con.unregister(name)
