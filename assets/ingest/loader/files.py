"""Landing files as bytes: which files of a day folder are the contract's, gzip streams and
encodings as real exports write them, and record counts that do not depend on DuckDB's reader.

DuckDB reads the common case itself (UTF-8, one gzip stream, balanced quotes), at full speed.
What it cannot read is repaired here first, in Python, and only for the files that need it:
gzip members followed by padding, GBK files that are really GB18030, CSV records whose quote
never closes (DuckDB folds every later line into that one record).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.loader.specs import SUCCESS_MARKER, FileRejected, FileSpec

GZIP_MAGIC = b"\x1f\x8b"
# GBK exports are routinely GB18030 (rare names, emoji): read the superset, which decodes
# every GBK byte sequence the same way.
SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}


def declared_name_pattern(name: str) -> re.Pattern[str]:
    """The files a declared name stands for: the name itself and, for gzip, its parts
    (`events.jsonl.gz` also matches `events-0001.jsonl.gz`), and nothing else
    (`orders_backup.jsonl.gz` is not an orders file)."""
    if not name.endswith(".gz"):
        return re.compile(re.escape(name))
    stem, _, rest = name.partition(".")
    return re.compile(re.escape(stem) + r"(-\d+)?\." + re.escape(rest))


def classify_folder(
    folder: Path, landing: Path, file_specs: tuple[FileSpec, ...]
) -> tuple[dict[int, list[Path]], list[tuple[Path, str, str, int | None]]]:
    """The day folder's files by declaration (index into `file_specs`), and the entries that
    are not loaded as (path, status, reason, declaration index or None): `unexpected` for
    names outside the contract, `refused` for symlinks that leave the landing zone (or lead
    nowhere)."""
    patterns = [declared_name_pattern(f.pattern) for f in file_specs]
    matched: dict[int, list[Path]] = {i: [] for i in range(len(file_specs))}
    others: list[tuple[Path, str, str, int | None]] = []
    root = landing.resolve()
    for path in sorted(folder.iterdir()):
        if path.name == SUCCESS_MARKER:
            continue
        index = next((i for i, p in enumerate(patterns) if p.fullmatch(path.name)), None)
        if index is None:
            others.append((path, "unexpected", "not a file of the contract: not loaded", None))
            continue
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                reason = f"symlink leading outside the landing zone ({target})"
                others.append((path, "refused", reason, index))
                continue
            if not target.is_file():
                others.append((path, "refused", f"symlink to no file ({target})", index))
                continue
        if not path.is_file():
            others.append((path, "unexpected", "not a regular file: not loaded", index))
            continue
        matched[index].append(path)
    return matched, others


def gunzip(data: bytes) -> bytes:
    """Every member of a gzip file, as `gzip -t` accepts it: several members one after the
    other, and zero padding after the last one (tape and some uploaders pad to a block)."""
    out: list[bytes] = []
    rest = data
    while rest:
        stream = zlib.decompressobj(wbits=31)
        try:
            out.append(stream.decompress(rest))
        except zlib.error as exc:
            raise FileRejected(f"corrupt gzip: {exc}") from exc
        if not stream.eof:
            raise FileRejected("corrupt or truncated gzip: the stream ends before its end")
        rest = stream.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            if rest.strip(b"\0"):
                raise FileRejected(
                    f"corrupt gzip: {len(rest)} bytes after the stream are neither padding "
                    "nor another gzip member"
                )
            break
    return b"".join(out)


def _gunzip_prefix(data: bytes) -> bytes:
    """What a damaged gzip file still decompresses to, for counting its records."""
    out: list[bytes] = []
    rest = data
    while rest.startswith(GZIP_MAGIC):
        stream = zlib.decompressobj(wbits=31)
        try:
            out.append(stream.decompress(rest))
        except zlib.error:
            break
        if not stream.eof:
            break
        rest = stream.unused_data
    return b"".join(out)


def decode(data: bytes, encoding: str) -> str:
    """A file's text in its declared encoding; a file that is not is rejected with the line
    where it stops being so."""
    if encoding in ("utf-8", "utf8"):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise FileRejected(
                f"not valid UTF-8 (line {line}): wrong encoding, expected utf-8"
            ) from exc
    try:
        data.decode("utf-8")
        looks_utf8 = any(b >= 0x80 for b in data)
    except UnicodeDecodeError:
        looks_utf8 = False
    if looks_utf8:
        raise FileRejected(f"file is UTF-8 but the source is declared {encoding}: wrong encoding")
    codec = SUPERSETS.get(encoding, encoding)
    try:
        return codecs.decode(data, codec, errors="strict")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(f"not valid {encoding} (line {line}): wrong encoding") from exc
    except LookupError as exc:
        raise FileRejected(f"unknown encoding {encoding!r} in sources.yml") from exc


def physical_records(path: Path, file_format: str) -> int:
    """An independent count of a file's records (data lines; a CSV's header is not one), read
    as far as the bytes allow: what a file quarantined whole held, so the loss shows."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if data.startswith(GZIP_MAGIC):
        data = _gunzip_prefix(data)
    lines = [line for line in data.split(b"\n") if line.strip(b"\r")]
    if file_format == "csv":
        return max(len(lines) - 1, 0)
    return len([line for line in lines if line.strip()])


@dataclass
class CsvScan:
    """A CSV file split into physical records by its quotes, independently of DuckDB.

    records   data records (blank lines are none, as DuckDB skips them)
    broken    (data line, text) of the records whose quote never closes
    text      the file without its broken records, for DuckDB; None when nothing was removed
    line_map  for that text: its data line n is the file's data line line_map[n - 1]
    """

    records: int
    broken: list[tuple[int, str]]
    text: str | None
    line_map: list[int] | None


def scan_csv(text: str) -> CsvScan:
    """Counts a CSV's records and finds those whose quote never closes.

    A line with an odd number of quotes opens a quoted field that runs into the next line.
    That is a real record only when it closes on a later odd line and the joined lines parse
    to as many fields as the header; otherwise the opening line alone is broken, and reading
    resumes on the line after it (so one stray quote costs one record, not the rest of the
    file)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return CsvScan(0, [], None, None)
    width = len(next(csv.reader([lines[0].rstrip("\r")]), []))
    odd = [i for i, line in enumerate(lines) if i and line.count('"') % 2]
    records = sum(1 for line in lines[1:] if line.rstrip("\r"))
    if not odd:
        return CsvScan(records, [], None, None)
    broken: list[int] = []
    spans: list[tuple[int, int]] = []  # multi-line records, first and last line
    k = 0
    while k < len(odd):
        start = odd[k]
        end = odd[k + 1] if k + 1 < len(odd) else None
        if end is not None and _parses_to(lines[start : end + 1], width):
            spans.append((start, end))
            k += 2
        else:
            broken.append(start)
            k += 1
    records -= sum(
        1 for start, end in spans for line in lines[start + 1 : end + 1] if line.rstrip("\r")
    )
    if not broken:
        return CsvScan(records, [], None, None)
    removed = set(broken)
    kept = [i for i in range(len(lines)) if i not in removed]
    return CsvScan(
        records=records,
        broken=[(i, lines[i].rstrip("\r")) for i in broken],
        text="\n".join(lines[i] for i in kept) + "\n",
        line_map=[i for i in kept if i],
    )


def _parses_to(lines: list[str], width: int) -> bool:
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), strict=True))
    except csv.Error:
        return False
    return len(rows) == 1 and len(rows[0]) == width
