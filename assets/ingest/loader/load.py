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

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.ingest.loader.erasure import (
    _apply_erasures,
    _record_erasures,
)
from assets.ingest.loader.files import classify_folder, physical_records
from assets.ingest.loader.lake import (
    PARQUET_OPTIONS,
    _DataFile,
    _day_rows,
    _kept_rows_sql,
    _refresh_view,
    _remove_unreferenced,
    ensure_tables,
    journal_write,
    raw_lake,
    require_data_files,
    write_manifest,
)
from assets.ingest.loader.reader import _Reader, prepare
from assets.ingest.loader.specs import (
    SUCCESS_MARKER,
    DayResult,
    FileRejected,
    FileResult,
    FileSpec,
    LoadError,
    SourceSpec,
    day_folder,
)
from assets.ingest.loader.sql import (
    _file_select,
    _hmac_pads,
    _lit,
    _q,
)
from orchestration.lib.sql import transaction

log = logging.getLogger(__name__)

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
    trusted is quarantined whole: its data file is deleted, it returns no rows, and its
    records are counted independently of the reader, so the loss shows in `rows_read`."""
    result = job.result
    try:
        try:
            quarantine, job.invalid = _load_file(
                con, spec, job.file_spec, job.path, workdir, job.out, business_date, result, params
            )
            return quarantine
        except duckdb.Error as exc:
            if job.path.suffix != ".gz" or "gzip" not in str(exc).lower():
                raise
            # DuckDB reads one gzip stream or several members, not padding after them: read
            # the file here (which rejects a truly truncated one) and scan a plain copy.
            job.out.unlink(missing_ok=True)
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
                repair_gzip=True,
            )
            return quarantine
    except duckdb.Error as exc:
        # DuckDB's own verdict on a file it cannot read
        first = str(exc).strip().splitlines()[0][:300]
        rejected = FileRejected(f"unreadable file: {first}")
    except FileRejected as exc:
        rejected = exc
    job.out.unlink(missing_ok=True)
    result.status, result.reason = "quarantined", str(rejected)
    result.rows_read = physical_records(job.path, job.file_spec.format)
    result.rows_loaded = result.duplicates_dropped = 0
    result.rows_quarantined = result.rows_read
    say(f"{result.file}: file quarantined ({rejected}); {result.rows_read} records lost")
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
    _remove_unreferenced(con, spec, lake)
    # Other dates' data files must all be there before anything is written: the view and the
    # erasure scans read every one.
    require_data_files(con, spec, lake, business_date)
    version = lake / spec.table / business_date.isoformat() / uuid.uuid4().hex[:12]
    journal_write(con, spec, lake, version)
    committed = False

    con.execute(
        "create or replace temp table day_quarantine (file varchar, line bigint, "
        "reason varchar, raw_record varchar)"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="growth-load-") as tmp, _work_tables(con):
            jobs: list[_FileJob] = []
            declared, others = classify_folder(folder, landing, spec.files)
            for index, file_spec in enumerate(spec.files):
                paths = declared[index]
                if not paths and not any(i == index for *_, i in others):
                    result = FileResult(file=f"{spec.name}/{business_date}/{file_spec.pattern}")
                    result.status, result.reason = "quarantined", "expected file not found"
                    results.append(result)
                    continue
                for path in paths:
                    rel = f"{spec.name}/{business_date}/{path.name}"
                    result = FileResult(file=rel, bytes=path.stat().st_size)
                    results.append(result)
                    jobs.append(_FileJob(file_spec, path, result, version / f"{path.name}.parquet"))
            # Files outside the contract are listed, never read: a backup copy in the folder
            # would otherwise add its orders to the day's.
            for path, status, reason, _ in others:
                rel = f"{spec.name}/{business_date}/{path.name}"
                results.append(FileResult(file=rel, status=status, reason=reason))
                say(f"{rel}: {status}, not loaded ({reason})")

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

            # Whole-file quarantines and refused files are recorded once, with an empty line.
            for result in results:
                if result.status in ("quarantined", "refused"):
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
    _remove_unreferenced(con, spec, lake)
    write_manifest(con, spec)

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
    out: Path,
    business_date: dt.date,
    result: FileResult,
    params: dict[str, bytes],
    repair_gzip: bool = False,
) -> tuple[list[tuple], int]:
    """Streams one file into its data file; returns its quarantine rows and the number of
    invalid records the data file holds."""
    if result.bytes == 0 and (file_spec.format == "csv" or path.suffix == ".gz"):
        raise FileRejected("empty file (0 bytes): a header or data was required")
    prepared = prepare(path, file_spec, workdir, repair_gzip=repair_gzip)
    reader = _Reader(con, file_spec, prepared)
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
    scan = prepared.scan
    rejected = reader.rejected_lines(header_lines=1 if file_spec.format == "csv" else 0)
    if scan is not None and scan.line_map is not None:
        # DuckDB read the copy without the broken records: give its lines the file's numbers.
        rejected = [(scan.line_map[line - 1], reason, text) for line, reason, text in rejected]
    rejected = [(line, f"unparseable line: {reason}", text) for line, reason, text in rejected]
    broken = [
        (line, "unparseable line: a quote that never closes", text)
        for line, text in (scan.broken if scan else [])
    ]
    rejected = sorted(rejected + broken)
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
    else:
        result.drift = sorted(reader.drift)
    # A CSV's records are counted by its quotes, independently of DuckDB's reader, so a
    # reader that folds lines into one record fails the reconciliation instead of losing them.
    # JSON lines are one record a line in both readers.
    result.rows_read = scan.records if scan is not None else accepted + len(rejected)
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
                reason,
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
    with transaction(con):
        scope = [spec.name, business_date]
        con.execute("delete from lake.data_files where source = ? and business_date = ?", scope)
        if data_files:
            con.executemany(
                "insert into lake.data_files values (?, ?, ?, ?)",
                [
                    (spec.name, business_date, f.file, f.path.relative_to(lake).as_posix())
                    for f in data_files
                ],
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
            _record_erasures(con, spec, spec.erasure, business_date, kept, lake, FILE_WORKERS)
        _refresh_view(con, spec, lake)
        _apply_erasures(con, spec, business_date, params)
