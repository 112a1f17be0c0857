"""Landing files as DuckDB relations: CSV headers, JSON lines, and the copy DuckDB reads when
the landing file itself cannot be read as it is (see `files`)."""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.ingest.loader.files import CsvScan, decode, gunzip, scan_csv
from assets.ingest.loader.specs import FileRejected, FileSpec
from assets.ingest.loader.sql import _lit, _q

# A record up to this size is read (DuckDB's default, 2 MB, rejected a 3 MB order record);
# beyond it, the record is quarantined with the reader's reason.
MAX_RECORD_BYTES = 32 * 1024 * 1024
# The name a trailing empty header (`a,b,` from Excel) is read under; it is never loaded.
TRAILING_EMPTY = "_trailing_empty_column"


@dataclass
class Prepared:
    """What DuckDB reads for one landing file, and what was learned on the way.

    readable  the landing file itself, or a UTF-8 copy in the load's work folder
    header    a CSV's header fields as written (None for JSON lines)
    scan      a CSV's independent record count and broken records
    """

    readable: Path
    header: list[str] | None = None
    scan: CsvScan | None = None


def prepare(path: Path, file_spec: FileSpec, workdir: Path, repair_gzip: bool = False) -> Prepared:
    """Reads what must be read in Python before DuckDB scans a file.

    A CSV (small: masters and daily reports) is decoded and split by its quotes here, which
    gives an independent record count and finds records whose quote never closes. A UTF-8
    JSON-lines file (the large sources) goes to DuckDB as it is; `repair_gzip` asks for a
    plain copy of a gzip DuckDB could not read (padding after the stream)."""
    copy = workdir / (path.name.removesuffix(".gz") + ".utf8")
    if file_spec.format == "jsonl":
        utf8 = file_spec.encoding in ("utf-8", "utf8")
        if utf8 and not repair_gzip:
            return Prepared(path)
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gunzip(data)
        copy.write_text(decode(data, file_spec.encoding), encoding="utf-8")
        return Prepared(copy)
    data = path.read_bytes()
    gzipped = path.suffix == ".gz"
    if gzipped:
        data = gunzip(data)
    text = decode(data, file_spec.encoding)
    scan = scan_csv(text)
    header = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]), [])
    if scan.text is not None:
        copy.write_text(scan.text, encoding="utf-8")
        return Prepared(copy, header, scan)
    if gzipped or file_spec.encoding not in ("utf-8", "utf8"):
        copy.write_text(text, encoding="utf-8")
        return Prepared(copy, header, scan)
    return Prepared(path, header, scan)


def match_header(header: list[str], file_spec: FileSpec) -> tuple[list[str], list[str]]:
    """The column names a CSV header is read under, and the drift it shows.

    A header that differs from its declaration only in letter case or surrounding spaces
    (`SKU_ID `) is read as the declared column, the difference recorded; an unknown header is
    drift; a trailing empty header is tolerated; a name twice is a schema error."""
    declared = {c.header: c.header for c in file_spec.columns}
    folded = {c.header.casefold(): c.header for c in file_spec.columns}
    names: list[str] = []
    drift: list[str] = []
    for position, raw in enumerate(header, start=1):
        clean = raw.strip().lstrip("\ufeff").strip()
        if not clean:
            if position == len(header) and position > 1:
                names.append(TRAILING_EMPTY)
                continue
            clean = f"_unnamed_column_{position}"
        name = declared.get(clean) or folded.get(clean.casefold()) or clean
        if name not in declared:
            drift.append(name)
        elif name != raw:
            drift.append(f"{raw!r} read as {name}")
        names.append(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FileRejected(f"duplicated column in the header: {', '.join(repeated)}")
    return names, drift


class _Reader:
    """One landing file as a SQL relation of text columns named by its declared headers.

    The relation is scanned once, by the COPY that writes the file's Parquet data file, so
    nothing is read into memory first. CSV lines the reader cannot split (wrong field count,
    invalid characters) land in `landed_rejects` as that COPY runs.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, file_spec: FileSpec, prepared: Prepared
    ) -> None:
        self.con = con
        self.file_spec = file_spec
        self.file = prepared.readable
        self.header = prepared.header
        self.path = _lit(str(prepared.readable))
        self.lines_mode = False
        self.drift: list[str] = []

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
        if not self.header or all(not h.strip() for h in self.header):
            raise FileRejected("no header line")
        names, self.drift = match_header(self.header, self.file_spec)
        self.check_required(names)
        cols = ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names)
        # An optional declared column the file lacks reads as missing in every row.
        absent = [c.header for c in self.file_spec.columns if c.header not in names]
        extra = "".join(f", cast(null as varchar) as {_q(h)}" for h in absent)
        relation = (
            f"select *{extra} from read_csv({self.path}, header=true, delim=',', quote='\"', "
            f"escape='\"', auto_detect=false, columns={{{cols}}}, store_rejects=true, "
            f"max_line_size={MAX_RECORD_BYTES}, "
            "rejects_table='landed_rejects', rejects_scan='landed_scan')"
        )
        return relation, [n for n in names if n != TRAILING_EMPTY]

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
            f"max_line_size={MAX_RECORD_BYTES}, "
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
            "select line, arg_min(error_type::varchar || coalesce(': ' || error_message, ''), "
            "column_idx), "
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
