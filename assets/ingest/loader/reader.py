"""Landing files as DuckDB relations: encodings, gzip, CSV headers, JSON lines."""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import zlib
from collections.abc import Iterable
from pathlib import Path

import duckdb

from assets.ingest.loader.specs import (
    FileRejected,
    FileSpec,
)
from assets.ingest.loader.sql import (
    _lit,
    _q,
)


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
