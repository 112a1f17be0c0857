"""The raw lake: Parquet data files beside the warehouse, the audit tables and the raw views."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.ingest.loader.specs import (
    LoadError,
    SourceSpec,
)
from assets.ingest.loader.sql import (
    _lit,
    _q,
)

AUDIT_DDL = """
create schema if not exists raw;
create schema if not exists audit;
create table if not exists audit.load_log (
    source varchar, business_date date, file varchar, rows_read bigint, rows_loaded bigint,
    rows_quarantined bigint, duplicates_dropped bigint, status varchar, loaded_at timestamp,
    reason varchar, schema_drift varchar, bytes bigint
);
create table if not exists audit.quarantine (
    source varchar, business_date date, file varchar, line bigint, reason varchar,
    raw_record varchar
);
create table if not exists audit.erasures (
    source varchar, erased_key varchar, first_business_date date
);
create table if not exists audit.duplicates (
    source varchar, business_date date, file varchar, line bigint
);
create schema if not exists lake;
create table if not exists lake.data_files (
    source varchar, business_date date, file varchar, data_path varchar
);
"""


# What a quarantined record of an erased subject is replaced by.
def raw_lake(con: duckdb.DuckDBPyConnection) -> Path:
    """Where the raw data files of a warehouse live: beside its file, named after it, so two
    warehouses never share data files."""
    (path,) = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()[0]
    if not path:
        raise LoadError("the raw lake needs a warehouse file, not an in-memory database")
    warehouse = Path(path).resolve()
    return warehouse.with_name(warehouse.name + ".raw")


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Creates the audit and lake tables; refuses a raw table of an older loader version."""
    con.execute(AUDIT_DDL)
    kind = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'raw' and table_name = ?",
        [spec.table],
    ).fetchall()
    if kind and kind[0][0] != "VIEW":
        raise LoadError(
            f"raw.{spec.table} is a table written by an older version of the loader; "
            "rebuild the warehouse from the landing zone (remove the warehouse file)"
        )


@dataclass
class _DataFile:
    """A landing file's Parquet data file, written for this load."""

    file: str  # the landing file, relative to the landing zone (lineage)
    path: Path
    has_invalid: bool = True  # holds records the raw view leaves out


# zstd at level 1 costs the CPU of snappy and writes files 40% smaller (a large events file:
# 22 MB against 37 MB).
PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"


def _day_rows(data_files: list[_DataFile], lines: bool = False) -> str:
    """The day's valid rows from its data files, with `_line` when asked.

    The `_reason` filter is left out when no file holds an invalid record: on a large day it
    costs a tenth of the pass."""
    paths = ", ".join(_lit(str(f.path)) for f in data_files)
    numbered = ", file_row_number=true" if lines else ""
    select = "*, file_row_number + 1 as _line" if lines else "*"
    valid = " where _reason is null" if any(f.has_invalid for f in data_files) else ""
    return f"(select {select} from read_parquet([{paths}]{numbered}){valid})"


def _kept_rows_sql(data_files: list[_DataFile]) -> str:
    """The day's valid, deduplicated rows (as the raw view will show them)."""
    if not data_files:
        return ""
    return (
        f"(select d.* from {_day_rows(data_files, lines=True)} d where not exists ("
        "select 1 from day_duplicates x where x.file = d._source_file and x.line = d._line))"
    )


def _refresh_view(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """raw.<table>: the valid, deduplicated rows of every committed data file of the source."""
    columns = {**spec.columns(), "_business_date": "DATE", "_source_file": "VARCHAR"}
    paths = [
        p
        for (p,) in con.execute(
            "select data_path from lake.data_files where source = ? order by business_date, file",
            [spec.name],
        ).fetchall()
    ]
    typed = ", ".join(f"cast(d.{_q(n)} as {t}) as {_q(n)}" for n, t in columns.items())
    if not paths:
        empty = ", ".join(f"cast(null as {t}) as {_q(n)}" for n, t in columns.items())
        body = f"select {empty}, cast(null as bigint) as _line where false"
    else:
        body = (
            f"select {typed}, d._line from (select *, file_row_number + 1 as _line "
            f"from read_parquet([{', '.join(_lit(p) for p in paths)}], file_row_number=true, "
            "union_by_name=true)) d where d._reason is null and not exists ("
            "select 1 from audit.duplicates x where x.source = "
            f"{_lit(spec.name)} and x.business_date = d._business_date "
            "and x.file = d._source_file and x.line = d._line)"
        )
    con.execute(f"create or replace view raw.{spec.table} as {body}")


def _remove_unreferenced(con: duckdb.DuckDBPyConnection, spec: SourceSpec, root: Path) -> None:
    """Deletes the source's data files that no committed load refers to: the ones a newer load
    replaced, or the ones a load that failed before its commit left behind."""
    if not root.exists():
        return
    referenced = {
        Path(p)
        for (p,) in con.execute(
            "select data_path from lake.data_files where source = ?", [spec.name]
        ).fetchall()
    }
    for path in sorted(root.rglob("*.parquet")):
        if path not in referenced:
            path.unlink()
    # Emptied load folders, then emptied date folders.
    for folder in sorted(root.glob("*/*"), reverse=True) + sorted(root.glob("*")):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
