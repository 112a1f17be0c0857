"""The raw lake: Parquet data files beside the warehouse, the audit tables and the raw views."""

from __future__ import annotations

import datetime as dt
import os
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
from orchestration.lib.sql import table_exists

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
create table if not exists lake.writes (source varchar, folder varchar);
create table if not exists lake.location (root varchar);
create table if not exists lake.file_schemas (data_path varchar, schema_key varchar);
create table if not exists lake.compactions (
    source varchar, month date, data_path varchar, members varchar[]
);
"""
# lake.data_files.data_path and lake.writes.folder are relative to the lake, so a warehouse
# moved or copied with its lake reads its own files. lake.writes journals every folder a load
# of this warehouse writes, before it writes: cleanup deletes only inside those, never a file
# this warehouse did not write. lake.location is where the views' absolute paths point.
# lake.file_schemas keeps each data file's Parquet schema (files are never rewritten in place:
# a new version has a new folder), so a view is built without reading a year of footers.
# lake.compactions lists the month files that stand in for a closed month's daily data files in
# the view (compaction.py): each names the daily files (`members`) it was written from.


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


def lake_path(lake: Path, data_path: str) -> Path:
    """A data file's absolute path (warehouses of an older loader stored absolute paths)."""
    path = Path(data_path)
    return path if path.is_absolute() else lake / path


def journal_write(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path, folder: Path
) -> None:
    """Records a folder this warehouse is about to write, committed at once (through a cursor
    of its own, outside any open transaction), so a crash cannot leave a file nobody owns."""
    cursor = con.cursor()
    try:
        cursor.execute(
            "insert into lake.writes values (?, ?)",
            [spec.name, folder.relative_to(lake).as_posix()],
        )
    finally:
        cursor.close()


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Creates the audit and lake tables; refuses a raw table of an older loader version;
    re-points the raw views when the warehouse and its lake were moved or copied."""
    con.execute(AUDIT_DDL)
    _relocate(con, raw_lake(con))
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


def _relocate(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """Views name their data files by absolute path (DuckDB resolves relative ones against the
    working directory). When the lake is no longer where the views point, every raw view is
    re-pointed at this warehouse's own lake, so a copy never reads the original's files."""
    stored = con.execute("select root from lake.location").fetchall()
    root = str(lake)
    if stored and stored[0][0] == root:
        return
    if stored:
        old = stored[0][0]
        views = con.execute(
            "select view_name, sql from duckdb_views() where schema_name = 'raw' and not internal"
        ).fetchall()
        for _, sql in views:
            con.execute(
                sql.replace(_lit(old + "/")[:-1], _lit(root + "/")[:-1]).replace(
                    "CREATE VIEW", "CREATE OR REPLACE VIEW", 1
                )
            )
    con.execute("delete from lake.location")
    con.execute("insert into lake.location values (?)", [root])


def missing_data_files(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path, except_date: dt.date | None
) -> list[tuple[dt.date, Path]]:
    """The source's committed data files that are not in the lake (other than `except_date`'s,
    which a load is replacing)."""
    rows = con.execute(
        "select business_date, data_path from lake.data_files where source = ? "
        "order by business_date, file",
        [spec.name],
    ).fetchall()
    # strings, not Paths: a year of a source is thousands of files, checked twice per load
    root = str(lake)
    missing = []
    for day, data_path in rows:
        if day != except_date and not os.path.exists(path := os.path.join(root, data_path)):
            missing.append((day, Path(path)))
    return missing


def require_data_files(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path, except_date: dt.date | None
) -> None:
    """Fails with the files and the dates to re-run when the lake has lost data files."""
    missing = missing_data_files(con, spec, lake, except_date)
    if not missing:
        return
    dates = sorted({day for day, _ in missing})
    raise LoadError(
        f"{len(missing)} data file(s) of raw.{spec.table} are missing from the raw lake "
        f"{lake}, first {missing[0][1]}; rebuild them by re-running "
        f"{spec.name} for {dates[0]}..{dates[-1]} "
        f"(growth run --start {dates[0]} --end {dates[-1]}), or remove the warehouse file to "
        "rebuild everything from the landing zone"
    )


def forget_missing(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path, dates: list[dt.date]
) -> list[Path]:
    """Drops the lake entries of `dates` whose data files are gone, before a run reloads those
    dates: the run rebuilds them, and a lost file of one date of the range must not stop the
    load of another."""
    if not table_exists(con, "lake", "data_files"):
        return []
    _relocate(con, lake)
    wanted = set(dates)
    gone = [(d, p) for d, p in missing_data_files(con, spec, lake, None) if d in wanted]
    for day, path in gone:
        con.execute(
            "delete from lake.data_files where source = ? and business_date = ? "
            "and data_path in (?, ?)",
            [spec.name, day, path.relative_to(lake).as_posix(), str(path)],
        )
    return [p for _, p in gone]


def _schema_keys(
    con: duckdb.DuckDBPyConnection, lake: Path, data_paths: list[str], remember: bool
) -> dict[str, str]:
    """Each data file's schema (names and types, in order) as a key, from lake.file_schemas,
    reading the footers of the files it does not know yet (kept there when `remember`)."""
    # a warehouse of an earlier version has no such table until its next load creates it
    kept = table_exists(con, "lake", "file_schemas")
    known = dict(
        con.execute(
            "select data_path, schema_key from lake.file_schemas "
            "where data_path in (select unnest(?))",
            [data_paths],
        ).fetchall()
        if kept
        else []
    )
    remember = remember and kept
    unknown = {str(lake_path(lake, p)): p for p in data_paths if p not in known}
    if unknown:
        fields: dict[str, list[str]] = {path: [] for path in unknown}
        for file_name, *field in con.execute(
            "select file_name, name, type, converted_type, logical_type, scale, precision, "
            "num_children, repetition_type from parquet_schema(?)",
            [list(unknown)],
        ).fetchall():
            fields[file_name].append(repr(field))
        learned = {unknown[path]: "|".join(f) for path, f in fields.items()}
        known.update(learned)
        if remember:
            con.executemany("insert into lake.file_schemas values (?, ?)", list(learned.items()))
    return known


# A schema's files up to this many are read with `union_by_name`, which reads every footer when
# a query binds: the planner then has every file's statistics, and on a day's files those
# prove branches empty (no event of a single day's folders landed late: int_sessions of a large
# day took 23 to 25 s with them, 28 to 39 s without). Past it, binding a year of daily footers
# (0.08 s a reference, 8 s of a nightly dbt build) costs more than the statistics save.
FOOTERS_READ_AT_BIND = 32


# A data file's business date, from its path in the lake (<table>/<date>/<version>/<file>).
# DuckDB evaluates a filter on it against the file list, before it opens a file, where the same
# filter on the stored column opened every file of the year for its statistics (a one-date read
# of a year of orders: 0.08 s against 0.04 s; a day-365 dbt build: 34 s against 28 s). Only
# past FOOTERS_READ_AT_BIND files: below it the planner has the stored column's statistics from
# the footers, and loses them for a computed date (a large day's int_sessions took 49 s
# instead of 33 s without them).
BUSINESS_DATE_OF_PATH = (
    r"cast(regexp_extract(_data_file, '/(\d{4}-\d{2}-\d{2})/[^/]+/[^/]+$', 1) as date)"
)


def _schema_read(paths: list[str]) -> str:
    """The rows of one schema's data files (a relation)."""
    files = ", ".join(_lit(p) for p in paths)
    if len(paths) <= FOOTERS_READ_AT_BIND:
        return f"read_parquet([{files}], file_row_number=true, union_by_name=true)"
    return (
        f"(select * exclude (_data_file) replace ({BUSINESS_DATE_OF_PATH} as _business_date) "
        f"from read_parquet([{files}], file_row_number=true, filename='_data_file'))"
    )


def _data_files_relation(paths: list[str], schema_keys: list[str]) -> str:
    """The rows of `paths` with their line numbers: one read per schema, joined by column
    name, so a year of files binds from one footer per schema."""
    groups: dict[str, list[str]] = {}
    for path, key in zip(paths, schema_keys, strict=True):
        groups.setdefault(key, []).append(path)
    reads = [_schema_read(group) for group in groups.values()]
    if len(reads) == 1:
        rows = reads[0]
    else:
        rows = "(" + " union all by name ".join(f"select * from {r}" for r in reads) + ")"
    return f"(select *, file_row_number + 1 as _line from {rows})"


def raw_rows_sql(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    lake: Path,
    since: dt.date | None = None,
    until: dt.date | None = None,
    remember_schemas: bool = False,
) -> str:
    """The query behind raw.<table>: the valid, deduplicated rows of the source's committed
    data files; of the business dates from `since` to `until` only when given, as a relation
    that opens those dates' files alone (the view lists a year of files, and a filter on
    `_business_date` still reads every file's footer to skip it)."""
    columns = {**spec.columns(), "_business_date": "DATE", "_source_file": "VARCHAR"}
    scope = ""
    if since is not None or until is not None:
        scope = (
            f" and business_date between {_lit(str(since or dt.date.min))} "
            f"and {_lit(str(until or dt.date.max))}"
        )
    duplicates = f"source = {_lit(spec.name)}{scope}"
    data_paths = [
        p
        for (p,) in con.execute(
            f"select data_path from lake.data_files where source = ?{scope} "
            "order by business_date, file",
            [spec.name],
        ).fetchall()
    ]
    typed = ", ".join(f"cast(d.{_q(n)} as {t}) as {_q(n)}" for n, t in columns.items())
    if not data_paths:
        empty = ", ".join(f"cast(null as {t}) as {_q(n)}" for n, t in columns.items())
        return f"select {empty}, cast(null as bigint) as _line where false"
    # The whole view reads a closed month's one compacted file instead of its daily files; a
    # read of some dates opens those dates' own files, as the gates' reads always have.
    compacted = _compactions(con, spec) if since is None and until is None else []
    replaced = {member for _, members in compacted for member in members}
    data_paths = [p for p in data_paths if p not in replaced]
    keys = _schema_keys(con, lake, data_paths, remember_schemas)
    reads = []
    if compacted:
        files = ", ".join(_lit(str(lake_path(lake, path))) for path, _ in compacted)
        reads.append(f"(select * from read_parquet([{files}], union_by_name=true))")
    if data_paths:
        reads.append(
            _data_files_relation(
                [str(lake_path(lake, p)) for p in data_paths], [keys[p] for p in data_paths]
            )
        )
    rows = (
        reads[0]
        if len(reads) == 1
        else "(" + " union all by name ".join(f"select * from {r}" for r in reads) + ")"
    )
    # An anti join, not `not exists`: DuckDB plans the correlated form as a mark join over
    # every row, which made a one-date count of a large events day 1.2 s instead of 0.1 s.
    return (
        f"select {typed}, d._line from {rows} d anti join (select business_date, file, line "
        f"from audit.duplicates where {duplicates}) x "
        "on x.business_date = d._business_date and x.file = d._source_file "
        "and x.line = d._line where d._reason is null"
    )


def _refresh_view(con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path) -> None:
    """raw.<table>: the valid, deduplicated rows of every committed data file of the source."""
    require_data_files(con, spec, lake, None)
    con.execute(
        "delete from lake.file_schemas where data_path not in "
        "(select data_path from lake.data_files)"
    )
    _forget_stale_compactions(con, spec, lake)
    query = raw_rows_sql(con, spec, lake, remember_schemas=True)
    con.execute(f"create or replace view raw.{spec.table} as {query}")


def _compactions(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> list[tuple[str, list[str]]]:
    """The source's month files (data paths) and the daily data files each stands in for."""
    if not table_exists(con, "lake", "compactions"):  # a warehouse of an earlier loader
        return []
    return [
        (path, list(members))
        for path, members in con.execute(
            "select data_path, members from lake.compactions where source = ? order by month",
            [spec.name],
        ).fetchall()
    ]


def _forget_stale_compactions(con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path) -> None:
    """Drops the month files that no longer stand for their month: one of its dates was
    loaded again (its daily files changed), or the file is gone from the lake. The view then
    reads that month's daily files until the month is compacted again; a dropped file is
    deleted with the other unreferenced ones once the load commits."""
    current: dict[dt.date, set[str]] = {}
    for day, path in con.execute(
        "select business_date, data_path from lake.data_files where source = ?", [spec.name]
    ).fetchall():
        current.setdefault(day.replace(day=1), set()).add(path)
    root = str(lake)
    for month, path, members in con.execute(
        "select month, data_path, members from lake.compactions where source = ?", [spec.name]
    ).fetchall():
        if set(members) != current.get(month) or not os.path.exists(os.path.join(root, path)):
            con.execute(
                "delete from lake.compactions where source = ? and data_path = ?",
                [spec.name, path],
            )


MANIFEST_FOLDER = "_manifest"


def manifest_paths(lake: Path, spec: SourceSpec) -> tuple[Path, Path]:
    """Where a source's data-file list and dropped duplicates are published for other engines."""
    folder = lake / MANIFEST_FOLDER
    return folder / f"{spec.table}.data_files.parquet", folder / f"{spec.table}.duplicates.parquet"


def write_manifest(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Publishes what `raw.<table>` reads besides the data files (the committed files, the
    dropped duplicates) as Parquet in the lake, so another engine (Spark, through dbt) shows
    the same rows from the same files without a second ingestion or a second set of rules.
    Erasures need nothing here: they are applied in the data files themselves.

    Each file is replaced atomically: a reader sees the previous commit's list or this one's."""
    lake = raw_lake(con)
    exports = zip(
        manifest_paths(lake, spec),
        (
            "select business_date, file, data_path from lake.data_files where source = ? "
            "order by business_date, file",
            "select business_date, file, line from audit.duplicates where source = ? "
            "order by business_date, file, line",
        ),
        strict=True,
    )
    for path, query in exports:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        con.execute(
            f"copy ({query.replace('?', _lit(spec.name))}) to {_lit(str(tmp))} (format parquet)"
        )
        tmp.replace(path)


def _remove_unreferenced(con: duckdb.DuckDBPyConnection, spec: SourceSpec, lake: Path) -> None:
    """Deletes the source's data files that no committed load refers to, inside the folders
    this warehouse journaled (`lake.writes`): the ones a newer load replaced, or the ones a
    load that failed before its commit left behind. Nothing else in the lake is touched."""
    # os.scandir over strings: a year of journaled folders walked with pathlib's glob took
    # 0.1 s per call, twice per load of every source
    root = str(lake)
    compacted = (
        " union all select data_path from lake.compactions where source = $source"
        if table_exists(con, "lake", "compactions")
        else ""
    )
    referenced = {
        os.path.normpath(os.path.join(root, p))
        for (p,) in con.execute(
            f"select data_path from lake.data_files where source = $source{compacted}",
            {"source": spec.name},
        ).fetchall()
    }
    folders = [
        f
        for (f,) in con.execute(
            "select distinct folder from lake.writes where source = ?", [spec.name]
        ).fetchall()
    ]
    for relative in folders:
        folder = os.path.join(root, relative)
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            entries = None
        if entries is not None:
            left = len(entries)
            for entry in entries:
                if (
                    entry.name.endswith(".parquet")
                    and not entry.is_dir()
                    and os.path.normpath(entry.path) not in referenced
                ):
                    os.unlink(entry.path)
                    left -= 1
            if left == 0:
                os.rmdir(folder)
                parent = os.path.dirname(folder)
                if os.path.normpath(parent) != os.path.normpath(root) and _is_empty(parent):
                    os.rmdir(parent)
        if not os.path.exists(folder):
            con.execute(
                "delete from lake.writes where source = ? and folder = ?", [spec.name, relative]
            )


def _is_empty(folder: str) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None
