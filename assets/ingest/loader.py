"""One loader for every landing-zone source, driven by `sources.yml`.

A day of a source is loaded in four steps, all in DuckDB, reading each file once:
1. each file is scanned as text columns and streamed, in file order, into a Parquet data file
   of the raw lake (`<warehouse>.raw/<table>/<date>/<load>/`): values are typed with
   `try_cast`, checked against the declaration, and personal data is replaced by keyed hashes
   in that same scan. Every record the reader could split is kept, so its position in the data
   file is its line; `_reason` marks the invalid ones. A file that cannot be trusted (truncated
   gzip, wrong encoding, missing required column, empty where data is required) is
   quarantined whole and its data file deleted;
2. invalid records go to `audit.quarantine` with their reason, line and masked text;
3. repeats of a primary key within the day are found and recorded in `audit.duplicates` (for
   change feeds the latest `updated_at` wins);
4. one transaction swaps the day in: `lake.data_files`, the quarantine, the duplicates, the load
   log and the `raw.<table>` view, which shows the valid, deduplicated rows of the committed
   data files. A re-run gives the same tables; a failure leaves the previous state, and the
   replaced data files are deleted after the commit;
5. in that transaction, erasure requests (PIPL) are recorded in `audit.erasures` and applied: the
   subject's personal columns are purged in every data file (rewritten) and their quarantined
   records are withheld, whichever day or source is (re-)loaded after the request.

Why Parquet under a view and not a DuckDB table: a DuckDB table insert costs a second pass over
the day (or an ordered insert, which DuckDB cannot parallelise); streaming the scan into Parquet
keeps a large day at about 1.5x of DuckDB merely reading the files (scripts/bench_ingest.py), and
the same files serve a Spark engine as they are.

Reconciliation (rows read = loaded + quarantined + duplicates) is asserted for every file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import gzip
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

SOURCES_FILE = Path(__file__).with_name("sources.yml")
SUCCESS_MARKER = "_SUCCESS"

_SQL_TYPES = {
    "varchar": "VARCHAR",
    "json": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "number": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}
# Raw rows carry lineage (`_business_date`, `_source_file`, `_line`: the record's number in
# its file), never load times: re-running a day must give identical tables.

log = logging.getLogger(__name__)


class LoadError(Exception):
    """A day cannot be loaded at all (not ready, or the configuration is wrong)."""


class FileRejected(Exception):
    """A whole file cannot be trusted; nothing of it may load."""


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    name: str
    type: str
    required: bool = False
    domain: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    scale: float | None = None
    pii: bool = False

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[self.type]


@dataclass(frozen=True)
class FileSpec:
    pattern: str
    format: str
    encoding: str
    columns: tuple[ColumnSpec, ...]
    constants: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ErasureSpec:
    """An erasure request (PIPL) in a source's rows, and what it purges.

    flag               boolean column; a true value asks for the record's subject to be erased
    key                pseudonymous key column the request is recorded under (audit.erasures)
    purge              columns set to NULL in every partition of the source's raw table
    quarantine_fields  fields of audit.quarantine.raw_record (any source) holding the subject's
                       clear id; a quarantined record of an erased subject is withheld
    """

    flag: str
    key: str
    purge: tuple[str, ...]
    quarantine_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    name: str
    family: str
    description: str
    table: str
    files: tuple[FileSpec, ...]
    primary_key: tuple[str, ...]
    updated_at: str | None = None
    latest_by: tuple[str, ...] = ()
    record_time: str | None = None
    min_rows: int = 0
    keys: dict[str, str] = field(default_factory=dict)
    gx_suite: str | None = None
    erasure: ErasureSpec | None = None

    def version_order(self) -> tuple[str, ...]:
        """Columns whose greatest values mark the latest version of a primary key."""
        return (self.updated_at,) if self.updated_at else self.latest_by

    def columns(self) -> dict[str, str]:
        """Canonical raw columns (name -> SQL type), the same for every file of the source."""
        out: dict[str, str] = {}
        for file_spec in self.files:
            for col in file_spec.columns:
                out.setdefault(col.name, col.sql_type)
            for const in file_spec.constants:
                out.setdefault(const, "VARCHAR")
        for key in self.keys:
            out.setdefault(key, "VARCHAR")
        return out


def _column(header: str, raw: dict[str, Any]) -> ColumnSpec:
    col_type = raw.get("type", "varchar")
    if col_type not in _SQL_TYPES:
        raise LoadError(f"column {header!r} has unknown type {col_type!r}")
    domain = raw.get("domain")
    return ColumnSpec(
        header=header,
        name=raw.get("name", header),
        type=col_type,
        required=bool(raw.get("required", False)),
        domain=tuple(str(v) for v in domain) if domain else None,
        min=raw.get("min"),
        max=raw.get("max"),
        scale=raw.get("scale"),
        pii=bool(raw.get("pii", False)),
    )


def _erasure(raw: dict[str, Any]) -> ErasureSpec:
    return ErasureSpec(
        flag=raw["flag"],
        key=raw["key"],
        purge=tuple(raw["purge"]),
        quarantine_fields=tuple(raw.get("quarantine_fields") or ()),
    )


def load_source_specs(path: Path = SOURCES_FILE) -> dict[str, SourceSpec]:
    """Parses the source declarations; a malformed entry fails loudly at definition time."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs: dict[str, SourceSpec] = {}
    for name, raw in doc["sources"].items():
        files = tuple(
            FileSpec(
                pattern=f["pattern"],
                format=f["format"],
                encoding=f.get("encoding", "utf-8").lower(),
                columns=tuple(_column(h, c or {}) for h, c in f["columns"].items()),
                constants={k: str(v) for k, v in (f.get("constants") or {}).items()},
            )
            for f in raw["files"]
        )
        spec = SourceSpec(
            name=name,
            family=raw.get("family", "other"),
            description=" ".join(raw.get("description", "").split()),
            table=raw.get("table", name),
            files=files,
            primary_key=tuple(raw["primary_key"]),
            updated_at=raw.get("updated_at"),
            latest_by=tuple(raw.get("latest_by") or ()),
            record_time=raw.get("record_time"),
            min_rows=int(raw.get("min_rows", 0)),
            keys=dict(raw.get("keys") or {}),
            gx_suite=raw.get("gx_suite"),
            erasure=_erasure(raw["erasure"]) if raw.get("erasure") else None,
        )
        known = spec.columns()
        refs = (*spec.primary_key, spec.updated_at, *spec.latest_by, spec.record_time)
        refs += (*spec.keys.values(),)
        if spec.erasure:
            refs += (spec.erasure.flag, spec.erasure.key, *spec.erasure.purge)
            if known.get(spec.erasure.flag) != "BOOLEAN" or spec.erasure.key not in spec.keys:
                raise LoadError(
                    f"source {name!r}: erasure needs a boolean flag and a pseudonymous key"
                )
        for col in refs:
            if col and col not in known:
                raise LoadError(f"source {name!r} refers to unknown column {col!r}")
        for file_spec in files:
            if file_spec.format not in ("csv", "jsonl"):
                raise LoadError(f"source {name!r} has unknown format {file_spec.format!r}")
        specs[name] = spec
    return specs


@dataclass
class FileResult:
    file: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    duplicates_dropped: int = 0
    status: str = "loaded"
    reason: str | None = None
    drift: list[str] = field(default_factory=list)
    bytes: int = 0

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.duplicates_dropped


@dataclass
class DayResult:
    source: str
    business_date: dt.date
    files: list[FileResult]
    record_dates: list[dt.date]
    seconds: float

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def duplicates_dropped(self) -> int:
        return sum(f.duplicates_dropped for f in self.files)

    @property
    def drift(self) -> list[str]:
        return sorted({d for f in self.files for d in f.drift})

    @property
    def late_dates(self) -> list[dt.date]:
        """Own dates of records that arrived in a later folder: their marts need a rebuild."""
        return [d for d in self.record_dates if d != self.business_date]


def day_folder(landing: Path, source: str, business_date: dt.date) -> Path:
    return landing / source / business_date.isoformat()


def is_ready(landing: Path, source: str, business_date: dt.date) -> bool:
    return (day_folder(landing, source, business_date) / SUCCESS_MARKER).exists()


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
ERASED_RECORD = "<withheld: erasure request>"


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


def _hmac_sql(expr: str) -> str:
    """HMAC-SHA256 in SQL, so hashing millions of ids stays inside DuckDB.

    `$ipad`/`$opad` are the key's inner and outer pads (RFC 2104), bound as blobs.
    """
    return (
        f"case when nullif({expr}, '') is null then null else "
        f"sha256($opad || unhex(sha256($ipad || encode({expr})))) end"
    )


def _hmac_pads(key: bytes) -> dict[str, bytes]:
    import hashlib

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _text(col: ColumnSpec, raw: str, is_json: bool) -> str:
    """A column's cleaned text: NULL when missing.

    CSV has no null, so an empty or padded field is trimmed and an empty one is missing. JSON
    has null: its free-form strings are kept as sent (normalising every string of a large JSON
    day costs a tenth of its load), and only the values the contract constrains (typed,
    required or with a domain) are trimmed or read as missing when empty."""
    if not is_json or col.type != "varchar":
        return f"nullif(trim({raw}), '')"
    if col.required or col.domain:
        return f"nullif({raw}, '')"
    return raw


def _typed_expr(col: ColumnSpec, text: str) -> str:
    """The typed value of a column from its cleaned text (`_text`, a column of an inner query:
    DuckDB does not share a repeated subexpression); NULL when empty or unparseable."""
    if col.type in ("varchar",):
        return text
    if col.type == "json":
        return f"case when json_valid({text}) then {text} end"
    if col.type == "timestamp":
        # Raw keeps naive Asia/Shanghai (business) time. The two shapes of sources.md are cast
        # directly (naive CSV time; JSON with +08:00); any other offset goes through the time
        # zone library, which is several times slower.
        return (
            f"case when length({text}) = 19 then try_cast({text} as timestamp) "
            f"when length({text}) = 25 and suffix({text}, '+08:00') "
            f"then try_cast(left({text}, 19) as timestamp) "
            f"else timezone('Asia/Shanghai', try_cast({text} as timestamptz)) end"
        )
    expr = f"try_cast({text} as {col.sql_type})"
    if col.scale is not None:
        expr = f"cast({expr} * {col.scale!r} as {col.sql_type})"
    return expr


def _reason_exprs(col: ColumnSpec, text: str, typed: str) -> list[str]:
    name = col.name
    reasons = []
    if col.required:
        reasons.append(f"case when {text} is null then 'missing value in {name}' end")
    if col.type not in ("varchar",):
        reasons.append(
            f"case when {text} is not null and {typed} is null "
            f"then 'unparseable {col.type} in {name}' end"
        )
    if col.domain:
        allowed = ", ".join(_lit(v) for v in col.domain)
        reasons.append(
            f"case when {typed} is not null and cast({typed} as varchar) not in ({allowed}) "
            f"then 'value out of domain in {name}' end"
        )
    if col.min is not None:
        reasons.append(
            f"case when {typed} < {col.min!r} then 'value below {col.min} in {name}' end"
        )
    if col.max is not None:
        reasons.append(
            f"case when {typed} > {col.max!r} then 'value above {col.max} in {name}' end"
        )
    return reasons


class _Reader:
    """One landing file as a SQL relation of text columns named by its headers.

    The relation is scanned once, by the COPY that writes the file's Parquet data file, so
    nothing is read into memory first. CSV lines the reader cannot split (wrong field count,
    invalid characters) land in `landed_rejects` as that COPY runs.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, file_spec: FileSpec, readable: Path) -> None:
        self.con = con
        self.file_spec = file_spec
        self.file = readable
        self.path = _lit(str(readable))
        self.lines_mode = False

    def open(self) -> tuple[str, list[str]]:
        """Checks what can be checked before the scan; returns the relation and the header
        names (for JSON: the keys of the first records)."""
        for table in ("landed_rejects", "landed_scan"):
            self.con.execute(f"drop table if exists {table}")
        if self.file_spec.format == "csv":
            return self._csv()
        seen = _sample_keys(self.file)
        if seen is None:
            return self.as_lines()
        cols = ", ".join(f"{_lit(c.header)}: 'VARCHAR'" for c in self.file_spec.columns)
        # One typed parse; nested values arrive as their JSON text.
        relation = (
            f"select * from read_json({self.path}, format='newline_delimited', columns={{{cols}}})"
        )
        return relation, seen

    def _csv(self) -> tuple[str, list[str]]:
        try:
            with self.file.open(encoding="utf-8-sig", newline="") as handle:
                headers = [h.strip() for h in next(csv.reader(handle), [])]
        except UnicodeDecodeError as exc:
            raise FileRejected(
                "not valid UTF-8 in the header line: wrong encoding, expected utf-8"
            ) from exc
        if not headers or headers == [""]:
            raise FileRejected("no header line")
        self.check_required(headers)
        cols = ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in headers)
        relation = (
            f"select * from read_csv({self.path}, header=true, delim=',', quote='\"', "
            f"escape='\"', auto_detect=false, columns={{{cols}}}, store_rejects=true, "
            "rejects_table='landed_rejects', rejects_scan='landed_scan')"
        )
        return relation, headers

    def as_lines(self) -> tuple[str, list[str]]:
        """A line is not valid JSON: read lines as text so that line alone is quarantined.
        Slower (every value is extracted from the text), so only for such files."""
        self.lines_mode = True
        headers = [c.header for c in self.file_spec.columns]
        paths = ", ".join(_lit("$." + h) for h in headers)
        select = ", ".join(f"v[{i + 1}] as {_q(h)}" for i, h in enumerate(headers))
        lines = (
            f"read_csv({self.path}, columns={{'line': 'VARCHAR'}}, header=false, "
            "delim=chr(1), quote='', escape='', auto_detect=false, store_rejects=true, "
            "rejects_table='landed_rejects', rejects_scan='landed_scan')"
        )
        # Nested CASEs: DuckDB evaluates a branch only for rows that reach it, and the JSON
        # functions raise on invalid input.
        obj = "case when json_valid(line) then json_type(line) = 'OBJECT' else false end"
        relation = (
            f"select {select}, _valid, case when not _valid then line end as _text from ("
            f"select line, {obj} as _valid, "
            f"case when {obj} then json_extract_string(line, [{paths}]) end as v from {lines})"
        )
        seen = [
            r[0]
            for r in self.con.execute(
                f"select distinct unnest(json_keys(line)) from (select line from {lines}) "
                f"where {obj} order by 1"
            ).fetchall()
        ]
        for table in ("landed_rejects", "landed_scan"):
            self.con.execute(f"drop table if exists {table}")
        return relation, seen

    def rejected_lines(self, header_lines: int) -> list[tuple[int, str, str]]:
        """Lines the reader could not split, as (data line, reason, text); a line that is not
        valid UTF-8 rejects the file."""
        exists = self.con.execute(
            "select count(*) from duckdb_tables() where table_name = 'landed_rejects'"
        ).fetchall()[0][0]
        if not exists:
            return []
        rejects = self.con.execute(
            # One line can raise several errors (one per missing field): keep the first.
            "select line, arg_min(error_type::varchar || ': ' || error_message, column_idx), "
            "arg_min(csv_line, column_idx), bool_or(error_type::varchar = 'INVALID ENCODING') "
            "from landed_rejects group by line order by line"
        ).fetchall()
        encoding_errors = [line for line, _, _, invalid in rejects if invalid]
        if encoding_errors:
            raise FileRejected(
                f"not valid UTF-8 (line {int(encoding_errors[0]) - header_lines}): "
                "wrong encoding, expected utf-8"
            )
        return [(int(line) - header_lines, msg, text) for line, msg, text, _ in rejects]

    def check_required(self, headers: Iterable[str]) -> None:
        present = set(headers)
        missing = [
            c.header for c in self.file_spec.columns if c.required and c.header not in present
        ]
        if missing:
            raise FileRejected(f"required column missing: {', '.join(missing)}")


def _sample_keys(path: Path, records: int = 2048) -> list[str] | None:
    """The keys of a JSON-lines file's first records, in order of appearance: a schema change
    upstream shows in every record, and every key of every line would cost a second parse.

    Read here rather than by a DuckDB schema sample, which costs 50 ms a file. None when a
    sampled line is not a JSON object, or the start of the file cannot be read: the file is
    then read line by line, where DuckDB gives its verdict on each line."""
    keys: dict[str, None] = {}
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
            for _, line in zip(range(records), handle, strict=False):
                if not line.strip():
                    continue
                record = json.loads(line)
                if not isinstance(record, dict):
                    return None
                keys.update(dict.fromkeys(record))
    except (ValueError, OSError, EOFError, zlib.error):
        return None
    return list(keys)


def _readable_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """A path DuckDB can read. UTF-8 files (gzipped or not) are read by DuckDB directly, which
    reports invalid UTF-8 and truncated gzip itself; files declared in another encoding
    (Tencent's GBK) are decoded strictly here, as DuckDB reads only UTF-8 without extensions."""
    if encoding in ("utf-8", "utf8"):
        return path
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise FileRejected(f"corrupt or truncated gzip: {exc}") from exc
    try:
        data.decode("utf-8")
        looks_utf8 = any(b >= 0x80 for b in data)
    except UnicodeDecodeError:
        looks_utf8 = False
    if looks_utf8:
        raise FileRejected(f"file is UTF-8 but the source is declared {encoding}: wrong encoding")
    try:
        text = codecs.decode(data, encoding, errors="strict")
    except (UnicodeDecodeError, LookupError) as exc:
        raise FileRejected(f"not valid {encoding}: wrong encoding") from exc
    out = workdir / (path.name.removesuffix(".gz") + ".utf8")
    out.write_text(text, encoding="utf-8")
    return out


def _mask_record_sql(file_spec: FileSpec, raw_of: dict[str, str]) -> str:
    """The quarantined row as JSON of its text values, personal data replaced by its keyed
    hash."""
    parts = []
    for col in file_spec.columns:
        value = raw_of[col.name]
        if col.pii:
            value = _hmac_sql(value)
        parts.append(f"{_lit(col.name)}, {value}")
    return f"to_json(json_object({', '.join(parts)}))::varchar"


# Temp tables of a load. Some hold values before hashing, so none outlives the load: the
# connection may stay open for more days (a backfill) or other work.
_WORK_TABLES = (
    "landed_rejects",
    "landed_scan",
    "day_quarantine",
    "day_duplicates",
    "day_repeats",
    "day_erasures",
    "day_erasures_new",
)


@contextmanager
def _work_tables(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    try:
        yield
    finally:
        for table in _WORK_TABLES:
            con.execute(f"drop table if exists {table}")


@dataclass
class _DataFile:
    """A landing file's Parquet data file, written for this load."""

    file: str  # the landing file, relative to the landing zone (lineage)
    path: Path
    has_invalid: bool = True  # holds records the raw view leaves out


# zstd at level 1 costs the CPU of snappy and writes files 40% smaller (a large events file:
# 22 MB against 37 MB).
PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"

# Files of one day streamed at once (GROWTH_INGEST_FILE_WORKERS): two fill both cores of the
# 2-core machine this was measured on; the files of a day share the warehouse memory limit.
FILE_WORKERS = int(os.environ.get("GROWTH_INGEST_FILE_WORKERS", "2"))


@dataclass
class _FileJob:
    file_spec: FileSpec
    path: Path
    result: FileResult
    out: Path
    invalid: int = 0


def _load_file_or_reject(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    job: _FileJob,
    workdir: Path,
    business_date: dt.date,
    params: dict[str, bytes],
    say: Callable[[str], None],
) -> list[tuple]:
    """Loads one file into its data file; returns its quarantine rows. A file that cannot be
    trusted is quarantined whole: its data file is deleted and it returns no rows."""
    result = job.result
    try:
        try:
            quarantine, job.invalid = _load_file(
                con,
                spec,
                job.file_spec,
                job.path,
                workdir,
                job.out,
                business_date,
                result,
                params,
            )
            return quarantine
        except duckdb.Error as exc:
            # DuckDB's own verdict on a file it cannot read (truncated gzip, ...)
            first = str(exc).strip().splitlines()[0][:300]
            kind = "corrupt or truncated gzip" if "gzip" in first.lower() else "unreadable file"
            raise FileRejected(f"{kind}: {first}") from exc
    except FileRejected as exc:
        job.out.unlink(missing_ok=True)
        result.status, result.reason = "quarantined", str(exc)
        result.rows_loaded = result.duplicates_dropped = 0
        result.rows_quarantined = result.rows_read
        say(f"{result.file}: file quarantined ({exc})")
        return []


def load_day(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    landing: Path,
    business_date: dt.date,
    pii_key: bytes,
    log_fn: Callable[[str], None] | None = None,
) -> DayResult:
    """Loads one business date of one source, replacing that partition exactly."""
    started = time.perf_counter()
    say = log_fn or log.info
    folder = day_folder(landing, spec.name, business_date)
    if not (folder / SUCCESS_MARKER).exists():
        raise LoadError(
            f"{spec.name} {business_date} is not ready: {folder} has no {SUCCESS_MARKER} marker"
        )
    lake = raw_lake(con)
    ensure_tables(con, spec)
    con.execute("set TimeZone = 'Asia/Shanghai'")
    # A record's position in its data file is its line: every COPY must keep file order.
    con.execute("set preserve_insertion_order = true")
    params = _hmac_pads(pii_key)
    results: list[FileResult] = []
    _remove_unreferenced(con, spec, lake / spec.table)
    version = lake / spec.table / business_date.isoformat() / uuid.uuid4().hex[:12]
    committed = False

    con.execute(
        "create or replace temp table day_quarantine (file varchar, line bigint, "
        "reason varchar, raw_record varchar)"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="growth-load-") as tmp, _work_tables(con):
            jobs: list[_FileJob] = []
            for file_spec in spec.files:
                paths = sorted(
                    p for p in folder.iterdir() if fnmatch.fnmatch(p.name, file_spec.pattern)
                )
                if not paths:
                    result = FileResult(file=f"{spec.name}/{business_date}/{file_spec.pattern}")
                    result.status, result.reason = "quarantined", "expected file not found"
                    results.append(result)
                    continue
                for path in paths:
                    rel = f"{spec.name}/{business_date}/{path.name}"
                    result = FileResult(file=rel, bytes=path.stat().st_size)
                    results.append(result)
                    jobs.append(_FileJob(file_spec, path, result, version / f"{path.name}.parquet"))

            def run(job: _FileJob) -> list[tuple]:
                # A cursor is a connection of its own (its own temp tables), so two files can
                # stream at once: one file's scan leaves a core idle while it writes.
                cursor = con.cursor()
                try:
                    cursor.execute("set TimeZone = 'Asia/Shanghai'")
                    return _load_file_or_reject(
                        cursor, spec, job, Path(tmp), business_date, params, say
                    )
                finally:
                    cursor.close()

            # Largest files first, so the last file to finish is a small one.
            by_size = sorted(jobs, key=lambda job: job.result.bytes, reverse=True)
            with ThreadPoolExecutor(max_workers=max(1, min(FILE_WORKERS, len(jobs)))) as pool:
                quarantined = [row for rows in pool.map(run, by_size) for row in rows]
            if quarantined:
                con.executemany(
                    "insert into day_quarantine values (?, ?, ?, ?)",
                    sorted(quarantined, key=lambda r: (r[0], r[1])),
                )
            data_files = [
                _DataFile(job.result.file, job.out, job.invalid > 0)
                for job in jobs
                if job.result.status == "loaded"
            ]

            # Whole-file quarantines are recorded once, with an empty line.
            for result in results:
                if result.status == "quarantined":
                    con.execute(
                        "insert into day_quarantine values (?, null, ?, null)",
                        [result.file, result.reason],
                    )

            dup_counts = _find_repeats(con, spec, data_files)
            for result in results:
                if result.status == "loaded":
                    result.duplicates_dropped = dup_counts.get(result.file, 0)
                    result.rows_loaded -= result.duplicates_dropped
                if not result.reconciles():
                    raise LoadError(
                        f"{result.file}: reconciliation failed: read {result.rows_read} != "
                        f"loaded {result.rows_loaded} + quarantined {result.rows_quarantined}"
                        f" + duplicates {result.duplicates_dropped}"
                    )

            kept = _kept_rows_sql(data_files)
            record_dates = _record_dates(con, spec, business_date, kept)
            _commit(con, spec, business_date, results, data_files, kept, lake, params)
            committed = True
    finally:
        if not committed:
            shutil.rmtree(version, ignore_errors=True)
    # The data files this load replaced (its day's, and any an erasure rewrote) are no longer
    # referenced once it committed.
    _remove_unreferenced(con, spec, lake / spec.table)

    elapsed = time.perf_counter() - started
    day = DayResult(spec.name, business_date, results, record_dates, elapsed)
    say(
        f"{spec.name} {business_date}: read {day.rows_read}, loaded {day.rows_loaded}, "
        f"quarantined {day.rows_quarantined}, duplicates {day.duplicates_dropped} "
        f"in {elapsed:.1f}s"
    )
    return day


def _file_select(spec: SourceSpec, file_spec: FileSpec, relation: str, lines: bool) -> str:
    """The SELECT that types, checks and hashes every record of one file, in file order.

    Every record the reader could split is kept, valid or not, so a record's position in the
    data file is its position in the landing file; `_reason` marks the invalid ones, which
    the raw view leaves out and the quarantine lists with their masked text. `lines`: the
    relation is a JSON file read line by line, with `_valid` and `_text`.

    Each cleaned text and typed value is computed once, in an inner query, and referenced by
    name: DuckDB does not share a repeated subexpression, and the timestamp cast alone names
    its text five times.
    """
    is_json = file_spec.format == "jsonl"
    raw_of = {c.name: _q(c.header) for c in file_spec.columns}
    text_of: dict[str, str] = {}
    value_of: dict[str, str] = {}
    texts, typed_cols = [], []
    for i, c in enumerate(file_spec.columns):
        texts.append(f"{_text(c, raw_of[c.name], is_json)} as _s{i}")
        text_of[c.name] = value_of[c.name] = f"_s{i}"
        if c.type != "varchar":
            typed_cols.append(f"{_typed_expr(c, f'_s{i}')} as _t{i}")
            value_of[c.name] = f"_t{i}"
    reasons = [
        r for c in file_spec.columns for r in _reason_exprs(c, text_of[c.name], value_of[c.name])
    ]
    reason_sql = f"concat_ws('; ', {', '.join(reasons)})" if reasons else "''"
    masked = _mask_record_sql(file_spec, raw_of)
    if lines:
        # A line that is not a JSON object has no values to check. (Only this path carries
        # `_valid`: a constant column on the fast path costs a tenth of a large day's load.)
        reason_sql = f"case when not _valid then 'unparseable JSON line' else {reason_sql} end"
        unparsed = (
            "'<unparseable line withheld: this source carries personal data>'"
            if any(c.pii for c in file_spec.columns)
            else "left(_text, 2000)"
        )
        masked = f"case when not _valid then {unparsed} else {masked} end"

    typed = {c.name: c for c in file_spec.columns}
    # An erasure request's own record is written purged: rewriting the file for it afterwards
    # would cost a second pass over the day. Other records of erased subjects are purged by
    # `_record_erasures`.
    purged_now: dict[str, str] = {}
    if spec.erasure and spec.erasure.flag in value_of:
        purged_now = {
            c: f"coalesce({value_of[spec.erasure.flag]}, false)" for c in spec.erasure.purge
        }
    select = []
    for name, sql_type in spec.columns().items():
        if name in typed:
            value = value_of[name]
            expr = _hmac_sql(value) if typed[name].pii else value
        elif name in file_spec.constants:
            expr = _lit(file_spec.constants[name])
        elif name in spec.keys:
            expr = _hmac_sql(value_of[spec.keys[name]])
        else:
            expr = f"cast(null as {sql_type})"
        if name in purged_now:
            expr = f"case when {purged_now[name]} then null else {expr} end"
        select.append(f"{expr} as {_q(name)}")
    typed_sql = ", ".join(["*", *typed_cols])
    return (
        f"select {', '.join(select)}, cast($business_date as date) as _business_date, "
        "$file as _source_file, _reason, "
        f"case when _reason is not null then {masked} end as _quarantine_record "
        f"from (select *, nullif({reason_sql}, '') as _reason "
        f"from (select {typed_sql} from (select src.*, {', '.join(texts)} "
        f"from ({relation}) src)))"
    )


def _load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    file_spec: FileSpec,
    path: Path,
    workdir: Path,
    out: Path,
    business_date: dt.date,
    result: FileResult,
    params: dict[str, bytes],
) -> tuple[list[tuple], int]:
    """Streams one file into its data file; returns its quarantine rows and the number of
    invalid records the data file holds."""
    if result.bytes == 0 and (file_spec.format == "csv" or path.suffix == ".gz"):
        raise FileRejected("empty file (0 bytes): a header or data was required")
    readable = _readable_copy(path, file_spec.encoding, workdir)
    reader = _Reader(con, file_spec, readable)
    relation, headers = reader.open()
    out.parent.mkdir(parents=True, exist_ok=True)
    values = {**params, "file": result.file, "business_date": business_date}

    def write(relation: str) -> None:
        sql = (
            f"copy ({_file_select(spec, file_spec, relation, reader.lines_mode)}) "
            f"to {_lit(str(out))} "
            f"({PARQUET_OPTIONS})"
        )
        # DuckDB refuses named parameters a statement does not use (the key pads, for a
        # source without personal data).
        con.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql})

    try:
        write(relation)
    except duckdb.InvalidInputException:
        if file_spec.format != "jsonl" or reader.lines_mode:
            raise
        # The sample was valid JSON but a later line is not.
        out.unlink(missing_ok=True)
        relation, headers = reader.as_lines()
        write(relation)
    rejected = reader.rejected_lines(header_lines=1 if file_spec.format == "csv" else 0)
    accepted, bad = con.execute(
        f"select count(*), count(_reason) from read_parquet({_lit(str(out))})"
    ).fetchall()[0]
    if file_spec.format == "jsonl":
        # JSON keys are known once read; a file without records has none to miss.
        headers = headers if accepted else []
        if accepted:
            reader.check_required(headers)
    known = {c.header for c in file_spec.columns}
    result.drift = sorted(h for h in headers if h not in known)
    result.rows_read = accepted + len(rejected)
    if result.rows_read < spec.min_rows:
        raise FileRejected(
            f"{result.rows_read} data rows where at least {spec.min_rows} are required"
        )
    quarantine: list[tuple] = []
    if bad:
        rows = con.execute(
            "select file_row_number + 1, _reason, _quarantine_record "
            f"from read_parquet({_lit(str(out))}, file_row_number=true) "
            "where _reason is not null order by 1"
        ).fetchall()
        rejected_at = sorted(line for line, _, _ in rejected)
        quarantine += [
            (result.file, _line_of(record, rejected_at), reason, text)
            for record, reason, text in rows
        ]
    if rejected:
        has_pii = any(c.pii for c in file_spec.columns)
        quarantine += [
            (
                result.file,
                line,
                f"unparseable line: {reason}",
                "<unparseable line withheld: this source carries personal data>"
                if has_pii
                else (text or "")[:2000],
            )
            for line, reason, text in rejected
        ]
    result.rows_quarantined = bad + len(rejected)
    result.rows_loaded = accepted - bad
    return quarantine, bad


def _line_of(record: int, rejected_lines: list[int]) -> int:
    """The data line of the n-th record the reader accepted, skipping the lines it rejected."""
    line = record
    for rejected in rejected_lines:
        if rejected <= line:
            line += 1
    return line


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


def _find_repeats(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, data_files: list[_DataFile]
) -> dict[str, int]:
    """Fills `day_duplicates` with every row that loses to another row of the same primary key
    (the latest version for change feeds), and counts them against the file they came from.

    Repeats are a small share of a day (SDK retries, re-sent changes), so only the keys that
    repeat are ranked; ranking the whole day costs a window over every row.
    """
    con.execute("create or replace temp table day_duplicates (file varchar, line bigint)")
    if not data_files:
        return {}
    pk = ", ".join(_q(c) for c in spec.primary_key)
    # Keys may contain empty values (a post without a note): they still identify a record.
    same_key = " and ".join(f"g.{_q(c)} is not distinct from d.{_q(c)}" for c in spec.primary_key)
    order = "".join(f"g.{_q(c)} desc nulls last, " for c in spec.version_order())
    con.execute(
        f"create or replace temp table day_repeats as select {pk} "
        f"from {_day_rows(data_files)} group by all having count(*) > 1"
    )
    if not con.execute("select count(*) from day_repeats").fetchall()[0][0]:
        return {}
    con.execute(
        "insert into day_duplicates select _source_file, _line from ("
        "select g._source_file, g._line, row_number() over "
        f"(partition by {', '.join('g.' + _q(c) for c in spec.primary_key)} "
        f"order by {order}g._source_file desc, g._line desc) as _rank "
        f"from {_day_rows(data_files, lines=True)} g semi join day_repeats d on {same_key}) "
        "where _rank > 1"
    )
    return dict(con.execute("select file, count(*) from day_duplicates group by 1").fetchall())


def _record_dates(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, business_date: dt.date, kept: str
) -> list[dt.date]:
    if not spec.record_time:
        return [business_date]
    if not kept:
        return []
    rows = con.execute(
        f"select distinct cast({_q(spec.record_time)} as date) from {kept} "
        f"where {_q(spec.record_time)} is not null order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _commit(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    business_date: dt.date,
    results: list[FileResult],
    data_files: list[_DataFile],
    kept: str,
    lake: Path,
    params: dict[str, bytes],
) -> None:
    """Swaps the day in: its data files, duplicates, quarantine and load log, and the raw view
    over the source's data files, in one transaction. Readers see the old day or the new."""
    con.execute("begin transaction")
    try:
        scope = [spec.name, business_date]
        con.execute("delete from lake.data_files where source = ? and business_date = ?", scope)
        if data_files:
            con.executemany(
                "insert into lake.data_files values (?, ?, ?, ?)",
                [(spec.name, business_date, f.file, str(f.path)) for f in data_files],
            )
        con.execute("delete from audit.duplicates where source = ? and business_date = ?", scope)
        con.execute(
            "insert into audit.duplicates select ?, ?, file, line from day_duplicates "
            "order by file, line",
            scope,
        )
        con.execute("delete from audit.quarantine where source = ? and business_date = ?", scope)
        con.execute(
            "insert into audit.quarantine select ?, ?, file, line, reason, raw_record "
            "from day_quarantine order by file, line nulls first",
            scope,
        )
        con.execute("delete from audit.load_log where source = ? and business_date = ?", scope)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        con.executemany(
            "insert into audit.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    spec.name,
                    business_date,
                    r.file,
                    r.rows_read,
                    r.rows_loaded,
                    r.rows_quarantined,
                    r.duplicates_dropped,
                    r.status,
                    now,
                    r.reason,
                    json.dumps(r.drift, ensure_ascii=False) if r.drift else None,
                    r.bytes,
                )
                for r in results
            ],
        )
        if spec.erasure:
            _record_erasures(con, spec, spec.erasure, business_date, kept, lake)
        _refresh_view(con, spec)
        _apply_erasures(con, spec, business_date, params)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


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


def _record_erasures(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    erasure: ErasureSpec,
    business_date: dt.date,
    kept: str,
    lake: Path,
) -> None:
    """Adds the day's erasure requests to audit.erasures and purges the subjects' personal
    columns in every data file of the source.

    A request is never withdrawn (a re-drop without the flag does not bring the data back),
    and its date is the first folder it came in, whatever order days are loaded in."""
    con.execute("create or replace temp table day_erasures (erased_key varchar)")
    if kept:
        con.execute(
            f"insert into day_erasures select distinct {_q(erasure.key)} from {kept} "
            f"where {_q(erasure.flag)} and {_q(erasure.key)} is not null"
        )
    # Subjects not erased before: every data file may hold their personal data.
    con.execute(
        "create or replace temp table day_erasures_new as select erased_key from day_erasures "
        "where erased_key not in (select erased_key from audit.erasures where source = ?)",
        [spec.name],
    )
    con.execute(
        "delete from audit.erasures where source = ? and first_business_date > ? "
        "and erased_key in (select erased_key from day_erasures)",
        [spec.name, business_date],
    )
    con.execute(
        "insert into audit.erasures select ?, erased_key, ? from day_erasures "
        "where erased_key not in (select erased_key from audit.erasures where source = ?) "
        "order by erased_key",
        [spec.name, business_date, spec.name],
    )
    con.execute("drop table day_erasures")

    # An erased subject's older versions hold the same personal data. Parquet files are
    # immutable, so a file holding any is rewritten (in file order, which is its line
    # numbering) and swapped in with the rest of the transaction. Only two scans are needed:
    # every file for the subjects erased for the first time, and the day's new files for every
    # erased subject (the older files were purged when those requests came).
    erased = f"(select erased_key from audit.erasures where source = {_lit(spec.name)})"
    still_set = " or ".join(f"{_q(c)} is not null" for c in (*erasure.purge, "_quarantine_record"))
    files = con.execute(
        "select business_date, data_path from lake.data_files where source = ?",
        [spec.name],
    ).fetchall()
    dirty: set[str] = set()
    for scope, keys in (
        ([p for _, p in files], "(select erased_key from day_erasures_new)"),
        ([p for d, p in files if d == business_date], erased),
    ):
        if not scope:
            continue
        paths = ", ".join(_lit(p) for p in scope)
        dirty |= {
            p
            for (p,) in con.execute(
                f"select distinct filename from read_parquet([{paths}], filename=true) "
                f"where {_q(erasure.key)} in {keys} and ({still_set})"
            ).fetchall()
        }
    con.execute("drop table day_erasures_new")
    purged = ", ".join(
        f"case when {_q(erasure.key)} in {erased} then null else {_q(c)} end as {_q(c)}"
        for c in (*erasure.purge, "_quarantine_record")
    )
    for business_date_, path in files:
        if path not in dirty:
            continue
        new = (lake / spec.table / business_date_.isoformat() / uuid.uuid4().hex[:12]) / Path(
            path
        ).name
        new.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select * replace ({purged}) from read_parquet({_lit(path)})) "
            f"to {_lit(str(new))} ({PARQUET_OPTIONS})"
        )
        con.execute(
            "update lake.data_files set data_path = ? where source = ? and data_path = ?",
            [str(new), spec.name, path],
        )


def _apply_erasures(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    business_date: dt.date,
    params: dict[str, bytes],
) -> None:
    """Withholds quarantined records of erased subjects.

    A source's own reload re-quarantines the records of that day, so every load masks its day
    by the ids its `keys` hash; the source that carries the erasure flag also masks what any
    source quarantined earlier, by the fields its erasure block names."""
    if not spec.keys and not spec.erasure:
        return
    if not con.execute("select count(*) from audit.erasures").fetchall()[0][0]:
        return
    _mask_quarantine(con, spec.keys.values(), params, spec.name, business_date)
    if spec.erasure and spec.erasure.quarantine_fields:
        _mask_quarantine(con, spec.erasure.quarantine_fields, params)


def _mask_quarantine(
    con: duckdb.DuckDBPyConnection,
    fields: Iterable[str],
    params: dict[str, bytes],
    source: str | None = None,
    business_date: dt.date | None = None,
) -> None:
    fields = list(fields)
    if not fields:
        return
    # Ids are compared by their keyed hash: audit.erasures never holds a clear id.
    # JSON functions raise on the records that are not JSON (withheld or raw CSV lines), and a
    # CASE around them is not enough once a subquery is involved: give them '{}' instead.
    record = "case when json_valid(raw_record) then raw_record else '{}' end"
    matches = " or ".join(
        _hmac_sql(f"json_extract_string({record}, {_lit('$.' + f)})")
        + " in (select erased_key from audit.erasures)"
        for f in fields
    )
    scope = ""
    if source is not None:
        scope = f"and source = {_lit(source)} and business_date = {_lit(str(business_date))} "
    con.execute(
        f"update audit.quarantine set raw_record = {_lit(ERASED_RECORD)} "
        f"where raw_record is not null {scope}and ({matches})",
        params,
    )
