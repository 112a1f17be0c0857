"""The raw lake as the tests read it: the loader's data files, found where the loader puts
them (`raw_lake`), and the text columns a privacy search must cover."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.ingest.loader import raw_lake


def data_files(con: duckdb.DuckDBPyConnection, table: str = "*") -> list[Path]:
    """Every data file of a raw table (of all tables by default) of the connected warehouse."""
    return sorted(raw_lake(con).glob(f"{table}/*/*/*.parquet"))


def text_columns(con: duckdb.DuckDBPyConnection, data_file: Path) -> list[str]:
    described = con.execute(f"describe select * from read_parquet('{data_file}')").fetchall()
    return [column for column, data_type, *_ in described if data_type == "VARCHAR"]
