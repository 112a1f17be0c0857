"""The read-only serving copy for BI: the `marts` schema only, in its own DuckDB file.

BI tools must be able to read while the pipeline writes, and DuckDB allows one writing process
per file, so BI never opens the warehouse: it opens this copy, which is built beside the old
one and swapped in with an atomic rename (readers holding the old file keep a consistent view).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

SCHEMA = "marts"


def publish_serving(warehouse: Path, serving: Path, parquet_dir: Path | None = None) -> dict:
    """Copies every table of `marts` into a fresh file, then replaces `serving` with it.
    Returns the row count of each published mart."""
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist yet: run the pipeline first")
    serving.parent.mkdir(parents=True, exist_ok=True)
    staging = serving.with_name(f".{serving.stem}.{os.getpid()}.building.duckdb")
    staging.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(staging))
    try:
        con.execute(f"attach '{warehouse}' as warehouse (read_only)")
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where database_name = 'warehouse' "
                "and schema_name = ? order by 1",
                [SCHEMA],
            ).fetchall()
        ]
        con.execute(f"create schema {SCHEMA}")
        for table in tables:
            con.execute(
                f'create table {SCHEMA}."{table}" as select * from warehouse.{SCHEMA}."{table}"'
            )
            counts[table] = con.execute(f'select count(*) from {SCHEMA}."{table}"').fetchall()[0][0]
            if parquet_dir is not None:
                parquet_dir.mkdir(parents=True, exist_ok=True)
                target = parquet_dir / f"{table}.parquet"
                tmp = parquet_dir / f".{table}.parquet.tmp"
                con.execute(f"copy {SCHEMA}.\"{table}\" to '{tmp}' (format parquet)")
                tmp.replace(target)
        con.execute("detach warehouse")
        con.execute("checkpoint")
    finally:
        con.close()
    staging.replace(serving)
    return counts
