"""One loader for every landing-zone source, driven by `sources.yml`.

A day of a source is loaded in four steps, all in DuckDB:
1. each file is read as text (`all_varchar`), so a bad value never aborts the read and every
   record keeps its line number; a file that cannot be trusted (truncated gzip, wrong encoding,
   missing required column, empty where data is required) is quarantined whole;
2. values are typed with `try_cast`; a row whose value does not parse, is out of its domain or
   range, or lacks a required value goes to `audit.quarantine` with the reason;
3. repeats of a primary key within the day are dropped and counted (for change feeds the latest
   `updated_at` wins); personal data is replaced by keyed hashes before anything is stored;
4. the day's partition of `raw.<table>`, its quarantine rows and its load-log rows are replaced
   in one transaction, so a re-run gives the same tables and a failure leaves the previous state;
5. in that transaction, erasure requests (PIPL) are recorded in `audit.erasures` and applied: the
   subject's personal columns are purged in every partition and their quarantined records are
   withheld, whichever day or source is (re-)loaded after the request.

Reconciliation (rows read = loaded + quarantined + duplicates) is asserted for every file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
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
# Raw rows carry lineage, never load times: re-running a day must give identical tables.
LINEAGE_COLUMNS = {"_business_date": "DATE", "_source_file": "VARCHAR", "_line": "BIGINT"}

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
"""
# What a quarantined record of an erased subject is replaced by.
ERASED_RECORD = "<withheld: erasure request>"


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Creates the audit tables and raw.<table>, adding columns a newer config declares."""
    con.execute(AUDIT_DDL)
    columns = {**spec.columns(), **LINEAGE_COLUMNS}
    cols_sql = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns.items())
    con.execute(f"create table if not exists raw.{spec.table} ({cols_sql})")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ?",
            [spec.table],
        ).fetchall()
    }
    for name, sql_type in columns.items():
        if name not in existing:
            con.execute(f'alter table raw.{spec.table} add column "{name}" {sql_type}')


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


def _typed_expr(col: ColumnSpec, raw: str) -> str:
    """The typed value of a raw text column; NULL when empty or unparseable."""
    text = f"nullif(trim({raw}), '')"
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


def _reason_exprs(col: ColumnSpec, raw: str, typed: str) -> list[str]:
    text = f"nullif(trim({raw}), '')"
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
    """Reads one file into `landed`: all text, with `_line`, the file's data-line number.

    `landed` is a view over the table the reader filled (`landed_raw`): line numbers come from
    the table's insertion order (`rowid`), which costs nothing, instead of a window over the
    whole file.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: SourceSpec, file_spec: FileSpec):
        self.con = con
        self.spec = spec
        self.file_spec = file_spec

    def read(self, path: Path, readable: Path) -> list[str]:
        """Returns the file's header names (for JSON: every key seen)."""
        if self.file_spec.format == "csv":
            return self._read_csv(readable)
        return self._read_jsonl(readable)

    def _reset(self) -> None:
        self.con.execute("drop view if exists landed")
        for table in (
            "landed_raw",
            "landed_lines",
            "landed_rejected",
            "landed_rejects",
            "landed_scan",
        ):
            self.con.execute(f"drop table if exists {table}")

    def _read_csv(self, path: Path) -> list[str]:
        self._reset()
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                headers = [h.strip() for h in next(csv.reader(handle), [])]
        except UnicodeDecodeError as exc:
            raise FileRejected(
                "not valid UTF-8 in the header line: wrong encoding, expected utf-8"
            ) from exc
        if not headers or headers == [""]:
            raise FileRejected("no header line")
        self._check_required(headers)
        cols = ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in headers)
        self.con.execute(
            f"create temp table landed_raw as select * from read_csv({_lit(str(path))}, "
            "header=true, delim=',', quote='\"', escape='\"', "
            f"auto_detect=false, columns={{{cols}}}, store_rejects=true, "
            "rejects_table='landed_rejects', rejects_scan='landed_scan')"
        )
        self._number_lines(header_lines=1)
        return headers

    def _read_jsonl(self, path: Path) -> list[str]:
        headers = [col.header for col in self.file_spec.columns]
        self._reset()
        cols = ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in headers)
        try:
            # The key set comes from DuckDB's schema sample (the first 20k records): a schema
            # change upstream shows in every record, and scanning every key of every line
            # would cost a second parse of the file.
            seen = [
                row[0]
                for row in self.con.execute(
                    f"describe select * from read_json({_lit(str(path))}, "
                    "format='newline_delimited', sample_size=20000, maximum_depth=1)"
                ).fetchall()
            ]
            # Fast path: one typed parse; nested values arrive as their JSON text.
            self.con.execute(
                f"create temp table landed_raw as select *, true as _valid, "
                f"null::varchar as _text from read_json({_lit(str(path))}, "
                f"format='newline_delimited', columns={{{cols}}})"
            )
            self.con.execute(
                "create temp table landed_rejected (line bigint, reason varchar, text varchar)"
            )
            self.con.execute(
                "create temp view landed as select rowid + 1 as _line, * from landed_raw"
            )
        except duckdb.InvalidInputException:
            # A line is not valid JSON: read lines as text so that line alone is quarantined.
            self._reset()
            paths = ", ".join(_lit("$." + h) for h in headers)
            select = ", ".join(f"v[{i + 1}] as {_q(h)}" for i, h in enumerate(headers))
            # Nested CASEs: DuckDB evaluates a branch only for rows that reach it, and the
            # JSON functions raise on invalid input.
            obj = "case when json_valid(line) then json_type(line) = 'OBJECT' else false end"
            self.con.execute(
                f"create temp table landed_raw as select {select}, _valid, "
                "case when not _valid then line end as _text, _keys from ("
                f"select line, {obj} as _valid, "
                f"case when {obj} then json_extract_string(line, [{paths}]) end as v, "
                f"case when {obj} then json_keys(line) end as _keys "
                f"from read_csv({_lit(str(path))}, columns={{'line': 'VARCHAR'}}, "
                "header=false, delim=chr(1), quote='', escape='', auto_detect=false, "
                "store_rejects=true, rejects_table='landed_rejects', "
                "rejects_scan='landed_scan'))"
            )
            self._number_lines(header_lines=0)
            seen = [
                r[0]
                for r in self.con.execute(
                    "select distinct unnest(_keys) from landed_raw where _valid order by 1"
                ).fetchall()
            ]
        if self.con.execute("select count(*) from landed").fetchall()[0][0]:
            self._check_required(seen)
        return seen

    def _number_lines(self, header_lines: int) -> None:
        """Builds `landed_rejected` (lines the reader could not split: wrong field count) and
        the `landed` view, whose `_line` skips the rejected lines."""
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
        self.con.execute(
            "create temp table landed_rejected (line bigint, reason varchar, text varchar)"
        )
        if not rejects:
            self.con.execute(
                "create temp view landed as select rowid + 1 as _line, * from landed_raw"
            )
            return
        self.con.executemany(
            "insert into landed_rejected values (?, ?, ?)",
            [(int(line) - header_lines, msg, text) for line, msg, text, _ in rejects],
        )
        total = self.con.execute("select count(*) from landed_raw").fetchall()[0][0]
        # The n-th accepted row sits on the n-th data line that was not rejected.
        self.con.execute(
            "create temp table landed_lines as select row_number() over (order by l) as _ord, "
            f"l as _line from range(1, {total + len(rejects) + 1}) t(l) "
            "where l not in (select line from landed_rejected)"
        )
        self.con.execute(
            "create temp view landed as select landed_lines._line, landed_raw.* "
            "from landed_raw join landed_lines on landed_lines._ord = landed_raw.rowid + 1"
        )

    def _check_required(self, headers: Iterable[str]) -> None:
        present = set(headers)
        missing = [
            c.header for c in self.file_spec.columns if c.required and c.header not in present
        ]
        if missing:
            raise FileRejected(f"required column missing: {', '.join(missing)}")


def _readable_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """A path DuckDB can read. UTF-8 files (gzipped or not) are read by DuckDB directly, which
    reports invalid UTF-8 and truncated gzip itself; files declared in another encoding
    (Tencent's GBK) are decoded strictly here, as DuckDB reads only UTF-8 without extensions."""
    if encoding in ("utf-8", "utf8"):
        return path
    data = path.read_bytes()
    if path.suffix == ".gz":
        import gzip
        import zlib

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


def _mask_record_sql(file_spec: FileSpec, pii_hash: Callable[[str], str]) -> str:
    """The quarantined row as JSON, personal data replaced by its keyed hash."""
    parts = []
    for col in file_spec.columns:
        value = f"landed.{_q(col.header)}"
        if col.pii:
            value = pii_hash(value)
        parts.append(f"{_lit(col.name)}, {value}")
    return f"to_json(json_object({', '.join(parts)}))::varchar"


# Temp tables of a load. Some hold values before hashing, so none outlives the load: the
# connection may stay open for more days (a backfill) or other work.
_WORK_TABLES = (
    "landed_raw",
    "landed_lines",
    "landed_rejected",
    "landed_rejects",
    "landed_scan",
    "landed_checked",
    "day_quarantine",
    "day_ranked",
    "day_repeats",
    "day_erasures",
)


@contextmanager
def _work_tables(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    try:
        yield
    finally:
        con.execute("drop view if exists landed")
        con.execute("drop table if exists day_good")
        for table in _WORK_TABLES:
            con.execute(f"drop table if exists {table}")


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
    ensure_tables(con, spec)
    con.execute("set TimeZone = 'Asia/Shanghai'")
    params = _hmac_pads(pii_key)
    results: list[FileResult] = []
    columns = spec.columns()

    con.execute("drop table if exists day_good")
    con.execute("drop table if exists day_quarantine")
    con.execute(
        "create temp table day_quarantine (file varchar, line bigint, reason varchar, "
        "raw_record varchar)"
    )
    typed_cols = ", ".join(f"{_q(n)} {t}" for n, t in columns.items())
    con.execute(f"create temp table day_good ({typed_cols}, _source_file varchar, _line bigint)")

    with tempfile.TemporaryDirectory(prefix="growth-load-") as tmp, _work_tables(con):
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
                try:
                    try:
                        _load_file(con, spec, file_spec, path, Path(tmp), result, params)
                    except duckdb.Error as exc:
                        # DuckDB's own verdict on a file it cannot read (truncated gzip, ...)
                        first = str(exc).strip().splitlines()[0][:300]
                        kind = (
                            "corrupt or truncated gzip"
                            if "gzip" in first.lower()
                            else ("unreadable file")
                        )
                        raise FileRejected(f"{kind}: {first}") from exc
                except FileRejected as exc:
                    result.status, result.reason = "quarantined", str(exc)
                    result.rows_loaded = result.duplicates_dropped = 0
                    result.rows_quarantined = result.rows_read
                    con.execute("delete from day_good where _source_file = ?", [rel])
                    con.execute("delete from day_quarantine where file = ?", [rel])
                    say(f"{rel}: file quarantined ({exc})")

        # Whole-file quarantines are recorded once, with an empty line.
        for result in results:
            if result.status == "quarantined":
                con.execute(
                    "insert into day_quarantine values (?, null, ?, null)",
                    [result.file, result.reason],
                )

        dup_counts = _drop_repeats(con, spec)
        for result in results:
            if result.status == "loaded":
                result.duplicates_dropped = dup_counts.get(result.file, 0)
                result.rows_loaded -= result.duplicates_dropped
            if not result.reconciles():
                raise LoadError(
                    f"{result.file}: reconciliation failed: read {result.rows_read} != loaded "
                    f"{result.rows_loaded} + quarantined {result.rows_quarantined} + "
                    f"duplicates {result.duplicates_dropped}"
                )

        record_dates = _record_dates(con, spec, business_date)
        _commit(con, spec, business_date, results, params)

    elapsed = time.perf_counter() - started
    day = DayResult(spec.name, business_date, results, record_dates, elapsed)
    say(
        f"{spec.name} {business_date}: read {day.rows_read}, loaded {day.rows_loaded}, "
        f"quarantined {day.rows_quarantined}, duplicates {day.duplicates_dropped} "
        f"in {elapsed:.1f}s"
    )
    return day


def _load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    file_spec: FileSpec,
    path: Path,
    workdir: Path,
    result: FileResult,
    params: dict[str, bytes],
) -> None:
    if result.bytes == 0 and (file_spec.format == "csv" or path.suffix == ".gz"):
        raise FileRejected("empty file (0 bytes): a header or data was required")
    readable = _readable_copy(path, file_spec.encoding, workdir)
    reader = _Reader(con, spec, file_spec)
    headers = reader.read(path, readable)
    known = {c.header for c in file_spec.columns}
    result.drift = sorted(h for h in headers if h not in known)

    rejected = con.execute("select count(*) from landed_rejected").fetchall()[0][0]
    accepted = con.execute("select count(*) from landed").fetchall()[0][0]
    result.rows_read = accepted + rejected
    if result.rows_read < spec.min_rows:
        raise FileRejected(
            f"{result.rows_read} data rows where at least {spec.min_rows} are required"
        )

    # Typed values are computed once, in an inner query, and the reasons read them there.
    raw_of = {c.name: f"_raw_{i}" for i, c in enumerate(file_spec.columns)}
    inner = ", ".join(
        [f"landed.{_q(c.header)} as {raw_of[c.name]}" for c in file_spec.columns]
        + [f"{_typed_expr(c, f'landed.{_q(c.header)}')} as {_q(c.name)}" for c in file_spec.columns]
    )
    if file_spec.format == "jsonl":
        inner += ", landed._valid"
    typed = {c.name: _q(c.name) for c in file_spec.columns}
    reasons = [
        r for c in file_spec.columns for r in _reason_exprs(c, raw_of[c.name], typed[c.name])
    ]
    reason_sql = f"concat_ws('; ', {', '.join(reasons)})" if reasons else "''"
    if file_spec.format == "jsonl":
        # A line that is not a JSON object has no values to check.
        reason_sql = f"case when not _valid then 'unparseable JSON line' else {reason_sql} end"

    has_pii = any(c.pii for c in file_spec.columns)
    masked = _mask_record_sql(file_spec, _hmac_sql)
    if file_spec.format == "jsonl":
        unparsed = (
            "'<unparseable line withheld: this source carries personal data>'"
            if has_pii
            else "left(landed._text, 2000)"
        )
        masked = f"case when not landed._valid then {unparsed} else {masked} end"

    con.execute("drop table if exists landed_checked")
    con.execute(
        f"create temp table landed_checked as select _line, nullif({reason_sql}, '') as _reason, "
        + ", ".join(typed.values())
        + f" from (select landed._line, {inner} from landed)"
    )
    rel = result.file
    # The masked record is built for rejected rows only: it is the costliest expression.
    con.execute(
        f"insert into day_quarantine select $file, c._line, c._reason, {masked} "
        "from landed_checked c join landed on landed._line = c._line "
        "where c._reason is not null order by c._line",
        {**params, "file": rel} if has_pii else {"file": rel},
    )
    # Lines the CSV reader itself rejected (wrong field count, invalid characters).
    rejected_record = (
        "'<unparseable line withheld: this source carries personal data>'"
        if has_pii
        else "left(text, 2000)"
    )
    con.execute(
        f"insert into day_quarantine select ?, line, 'unparseable line: ' || reason, "
        f"{rejected_record} from landed_rejected",
        [rel],
    )
    bad = con.execute("select count(*) from landed_checked where _reason is not null").fetchall()[
        0
    ][0]
    result.rows_quarantined = bad + rejected

    select = []
    for name in spec.columns():
        if name in typed:
            col = next(c for c in file_spec.columns if c.name == name)
            select.append(_hmac_sql(_q(name)) if col.pii else _q(name))
        elif name in file_spec.constants:
            select.append(_lit(file_spec.constants[name]))
        elif name in spec.keys:
            select.append(_hmac_sql(_q(spec.keys[name])))
        else:
            select.append("null")
    con.execute(
        f"insert into day_good select {', '.join(select)}, $file, _line "
        "from landed_checked where _reason is null",
        {**params, "file": rel} if (has_pii or spec.keys) else {"file": rel},
    )
    result.rows_loaded = accepted - bad


def _drop_repeats(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> dict[str, int]:
    """Keeps one row per primary key (the latest version for change feeds); counts the rest
    against the file they came from.

    Repeats are a small share of a day (SDK retries, re-sent changes), so only the keys that
    repeat are ranked; ranking the whole day costs a window over every row.
    """
    pk = ", ".join(_q(c) for c in spec.primary_key)
    # Keys may contain empty values (a post without a note): they still identify a record.
    same_key = " and ".join(f"g.{_q(c)} is not distinct from d.{_q(c)}" for c in spec.primary_key)
    order = "".join(f"g.{_q(c)} desc nulls last, " for c in spec.version_order())
    con.execute(
        f"create temp table day_repeats as select {pk} from day_good group by all "
        "having count(*) > 1"
    )
    con.execute(
        "create temp table day_ranked as select g.*, row_number() over "
        f"(partition by {', '.join('g.' + _q(c) for c in spec.primary_key)} "
        f"order by {order}g._source_file desc, "
        f"g._line desc) as _rank from day_good g semi join day_repeats d on {same_key}"
    )
    counts = dict(
        con.execute(
            "select _source_file, count(*) from day_ranked where _rank > 1 group by 1"
        ).fetchall()
    )
    # Losers leave day_good in place: deleting the few repeats is far cheaper than rewriting
    # (or anti-joining) the whole day.
    same_row = " and ".join(
        [f"g.{_q(c)} is not distinct from r.{_q(c)}" for c in spec.primary_key]
        + ["g._source_file = r._source_file", "g._line = r._line"]
    )
    con.execute(
        "delete from day_good g using (select * from day_ranked where _rank > 1) r "
        f"where {same_row}"
    )
    return counts


def _record_dates(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, business_date: dt.date
) -> list[dt.date]:
    if not spec.record_time:
        return [business_date]
    rows = con.execute(
        f"select distinct cast({_q(spec.record_time)} as date) from day_good "
        f"where {_q(spec.record_time)} is not null order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _commit(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    business_date: dt.date,
    results: list[FileResult],
    params: dict[str, bytes],
) -> None:
    columns = ", ".join(_q(c) for c in spec.columns())
    con.execute("begin transaction")
    try:
        con.execute(f"delete from raw.{spec.table} where _business_date = ?", [business_date])
        con.execute(
            f"insert into raw.{spec.table} ({columns}, _business_date, _source_file, _line) "
            f"select {columns}, ?, _source_file, _line from day_good",
            [business_date],
        )
        con.execute(
            "delete from audit.quarantine where source = ? and business_date = ?",
            [spec.name, business_date],
        )
        con.execute(
            "insert into audit.quarantine select ?, ?, file, line, reason, raw_record "
            "from day_quarantine order by file, line nulls first",
            [spec.name, business_date],
        )
        con.execute(
            "delete from audit.load_log where source = ? and business_date = ?",
            [spec.name, business_date],
        )
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
            _record_erasures(con, spec, spec.erasure, business_date)
        _apply_erasures(con, spec, business_date, params)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _record_erasures(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, erasure: ErasureSpec, business_date: dt.date
) -> None:
    """Adds the day's erasure requests to audit.erasures. A request is never withdrawn (a re-drop
    without the flag does not bring the data back), and its date is the first folder it came
    in, whatever order days are loaded in."""
    con.execute(
        "create or replace temp table day_erasures as select distinct "
        f"{_q(erasure.key)} as erased_key from day_good "
        f"where {_q(erasure.flag)} and {_q(erasure.key)} is not null"
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
    # Every partition: an erased subject's older versions hold the same personal data.
    erased = f"(select erased_key from audit.erasures where source = {_lit(spec.name)})"
    assignments = ", ".join(f"{_q(c)} = null" for c in erasure.purge)
    still_set = " or ".join(f"{_q(c)} is not null" for c in erasure.purge)
    con.execute(
        f"update raw.{spec.table} set {assignments} "
        f"where {_q(erasure.key)} in {erased} and ({still_set})"
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
