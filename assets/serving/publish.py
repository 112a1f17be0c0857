"""The read-only serving copy for BI: the `marts` schema only, in its own DuckDB file.

BI tools must be able to read while the pipeline writes, and DuckDB allows one writing process
per file, so BI never opens the warehouse: it opens this copy, which is built beside the old
one and swapped in with an atomic rename (readers holding the old file keep a consistent view).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.lib.marts import SCHEMA, mart_names


def publish_serving(
    marts: duckdb.DuckDBPyConnection, serving: Path, parquet_dir: Path | None = None
) -> dict:
    """Copies every mart of `marts` (a connection from orchestration.lib.marts.open_marts, on
    either engine) into a fresh file, then replaces `serving` with it. Rows stream through
    Arrow record batches, so a mart never has to fit in memory at once.
    Returns the row count of each published mart."""
    tables = mart_names(marts)
    serving.parent.mkdir(parents=True, exist_ok=True)
    staging = serving.with_name(f".{serving.stem}.{os.getpid()}.building.duckdb")
    staging.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(staging))
    try:
        con.execute(f"create schema {SCHEMA}")
        for table in tables:
            batches = marts.sql(f'select * from {SCHEMA}."{table}"').to_arrow_reader()
            con.register("mart_batches", batches)
            con.execute(f'create table {SCHEMA}."{table}" as select * from mart_batches')
            con.unregister("mart_batches")
            counts[table] = con.execute(f'select count(*) from {SCHEMA}."{table}"').fetchall()[0][0]
            if parquet_dir is not None:
                parquet_dir.mkdir(parents=True, exist_ok=True)
                target = parquet_dir / f"{table}.parquet"
                tmp = parquet_dir / f".{table}.parquet.tmp"
                con.execute(f"copy {SCHEMA}.\"{table}\" to '{tmp}' (format parquet)")
                tmp.replace(target)
        con.execute("checkpoint")
    except BaseException:
        con.close()
        staging.unlink(missing_ok=True)
        raise
    con.close()
    staging.replace(serving)
    return counts
