"""Erasure requests (PIPL): recorded once, applied to every data file and the quarantine."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from assets.ingest.loader.lake import (
    PARQUET_OPTIONS,
    journal_write,
    lake_path,
)
from assets.ingest.loader.specs import (
    ErasureSpec,
    SourceSpec,
)
from assets.ingest.loader.sql import (
    _hmac_sql,
    _lit,
    _q,
)

ERASED_RECORD = "<withheld: erasure request>"


def _record_erasures(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    erasure: ErasureSpec,
    business_date: dt.date,
    kept: str,
    lake: Path,
    workers: int = 1,
) -> None:
    """Adds the day's erasure requests to audit.erasures and purges the subjects' personal
    columns in every data file of the source.

    A request is never withdrawn (a re-drop without the flag does not bring the data back),
    and its date is the first folder it came in, whatever order days are loaded in."""
    # The clear id the key hashes stays in the raw lake: records other sources quarantined are
    # matched on it, not by hashing every quarantined record again (_apply_erasures).
    clear = spec.keys.get(erasure.key)
    con.execute("create or replace temp table day_erasures (erased_key varchar, clear_id varchar)")
    if kept:
        con.execute(
            f"insert into day_erasures select distinct {_q(erasure.key)}, "
            f"{_q(clear) if clear else 'null'} from {kept} "
            f"where {_q(erasure.flag)} and {_q(erasure.key)} is not null"
        )
    # Subjects not erased before: every data file may hold their personal data.
    con.execute(
        "create or replace temp table day_erasures_new as select erased_key, clear_id "
        "from day_erasures "
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
    files = [
        (day, str(lake_path(lake, p)), p)
        for day, p in con.execute(
            "select business_date, data_path from lake.data_files where source = ?",
            [spec.name],
        ).fetchall()
    ]
    dirty: set[str] = set()
    for scope, keys in (
        ([p for _, p, _ in files], "(select erased_key from day_erasures_new)"),
        ([p for d, p, _ in files if d == business_date], erased),
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
    rewrites = [(day, path, stored) for day, path, stored in files if path in dirty]
    if not rewrites:
        return
    # The copies run on cursors of their own, two at a time (a small file's copy is mostly
    # fixed cost: 59 files of day 365 took 1.0 s one after the other). A cursor does not see
    # this transaction's uncommitted requests, so it gets them all as a table.
    erased_keys = con.sql(
        f"select erased_key from audit.erasures where source = {_lit(spec.name)}"
    ).to_arrow_table()
    purged = ", ".join(
        f"case when _erased then null else {_q(c)} end as {_q(c)}"
        for c in (*erasure.purge, "_quarantine_record")
    )
    targets: list[tuple[str, Path, str]] = []
    for business_date_, path, stored in rewrites:
        folder = lake / spec.table / business_date_.isoformat() / uuid.uuid4().hex[:12]
        journal_write(con, spec, lake, folder)
        new = folder / Path(path).name
        new.parent.mkdir(parents=True, exist_ok=True)
        targets.append((path, new, stored))

    def rewrite(target: tuple[str, Path, str]) -> None:
        path, new, _ = target
        cursor = con.cursor()
        try:
            cursor.register("erased_keys", erased_keys)
            # sorted by the row's position: a record's line is its place in the file
            cursor.execute(
                f"copy (select * exclude (_erased, file_row_number) replace ({purged}) from "
                f"(select *, {_q(erasure.key)} in (select erased_key from erased_keys) "
                f"as _erased from read_parquet({_lit(path)}, file_row_number = true)) "
                f"order by file_row_number) to {_lit(str(new))} ({PARQUET_OPTIONS})"
            )
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
        list(pool.map(rewrite, targets))
    con.executemany(
        "update lake.data_files set data_path = ? where source = ? and data_path = ?",
        [[new.relative_to(lake).as_posix(), spec.name, stored] for _, new, stored in targets],
    )


def _apply_erasures(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    business_date: dt.date,
    params: dict[str, bytes],
) -> None:
    """Withholds quarantined records of erased subjects.

    A source's own reload re-quarantines the records of that day, so every load masks its day
    by the ids its `keys` hash, against every erasure recorded. The source that carries the
    erasure flag also masks what any source quarantined before, by the fields its erasure block
    names: for the subjects erased for the first time only (the others' records were withheld
    when their requests came, or by their own source's load since), and by their clear ids, so
    a year's quarantine is not hashed again on every load."""
    if spec.erasure:
        try:
            if spec.erasure.quarantine_fields:
                _mask_quarantine_by_clear_id(con, spec.erasure.quarantine_fields, params)
        finally:
            con.execute("drop table if exists day_erasures_new")
    if not spec.keys:
        return
    if not con.execute("select count(*) from audit.erasures").fetchall()[0][0]:
        return
    _mask_quarantine(con, spec.keys.values(), params, spec.name, business_date)


def _json_field(field: str) -> str:
    # JSON functions raise on the records that are not JSON (withheld or raw CSV lines), and a
    # CASE around them is not enough once a subquery is involved: give them '{}' instead.
    record = "case when json_valid(raw_record) then raw_record else '{}' end"
    return f"json_extract_string({record}, {_lit('$.' + field)})"


def _mask_quarantine_by_clear_id(
    con: duckdb.DuckDBPyConnection, fields: Iterable[str], params: dict[str, bytes]
) -> None:
    new, unmatched = con.execute(
        "select count(*), count(*) filter (where clear_id is null) from day_erasures_new"
    ).fetchall()[0]
    if unmatched:
        # a key no clear column of the source names: hash the whole quarantine, as before
        _mask_quarantine(con, fields, params)
        return
    if not new:
        return
    ids = "(select clear_id from day_erasures_new where clear_id is not null)"
    matches = " or ".join(f"{_json_field(f)} in {ids}" for f in fields)
    con.execute(
        f"update audit.quarantine set raw_record = {_lit(ERASED_RECORD)} "
        f"where raw_record is not null and raw_record <> {_lit(ERASED_RECORD)} and ({matches})"
    )


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
    matches = " or ".join(
        _hmac_sql(_json_field(f)) + " in (select erased_key from audit.erasures)" for f in fields
    )
    scope = ""
    if source is not None:
        scope = f"and source = {_lit(source)} and business_date = {_lit(str(business_date))} "
    con.execute(
        f"update audit.quarantine set raw_record = {_lit(ERASED_RECORD)} "
        f"where raw_record is not null {scope}and ({matches})",
        params,
    )
