"""When the warehouse is vacuumed: by the night's dbt build, once deletes have fragmented a table.

A nightly build replaces the dates it rebuilds (delete+insert), and the rows it deletes are
tombstones in the row groups the nights before appended. DuckDB's vacuum merges such row groups
at every checkpoint, rewriting the live rows around the tombstones again each night: on day 365
of the small simulated brand that was 4.7 s of the dbt step (every checkpoint left to dbt's exit:
6.0 s with the vacuum, 1.3 s without; day 30's exit 0.8 s). Deferred, one vacuum merges what
several nights left: fct_orders with 14 dates restated nightly, 0.5 s after 8 nights and 1.0 s
after 12, against 0.7 s every night, and a scan of it meanwhile reads at most half again its rows.

A checkpoint with the vacuum on merges every table's thinned row groups, changed or not, so the
vacuum is off on every other connection that writes the warehouse (WarehouseResource), and the
dbt build turns it on for the night (`vacuum` in its run scope, macro warehouse_vacuum) when a
table asks for it. A row group whose rows are all deleted is dropped at any checkpoint: a table
rebuilt whole leaves no tombstones.
"""

from __future__ import annotations

import duckdb

from orchestration.lib.sql import quoted

# A table is vacuumed once its deleted rows pass this share of its live rows...
DELETED_SHARE = 0.5
# ...and a row group's worth: fewer cost a scan next to nothing, and a small table rebuilt by
# dates (a mart of a trailing year restated whole) would otherwise ask for a vacuum every night.
MIN_DELETED_ROWS = 122_880


def deleted_rows(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """(deleted, live) rows of each table of the connection's database: DuckDB's estimated
    size counts the rows its row groups hold, deleted ones included."""
    tables = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() "
        "where database_name = current_database() and not temporary"
    ).fetchall()
    if not tables:
        return {}
    live = dict(
        con.execute(
            " union all ".join(
                f"select {index} as t, count(*) as n from {quoted(schema)}.{quoted(table)}"
                for index, (schema, table, _) in enumerate(tables)
            )
        ).fetchall()
    )
    return {
        f"{schema}.{table}": (max(int(size) - live[index], 0), live[index])
        for index, (schema, table, size) in enumerate(tables)
    }


def fragmented_tables(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """The tables whose deleted rows ask for a vacuum: (deleted, live) of each."""
    return {
        table: (deleted, live)
        for table, (deleted, live) in deleted_rows(con).items()
        if deleted > max(DELETED_SHARE * live, MIN_DELETED_ROWS)
    }
