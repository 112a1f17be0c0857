"""Erasure requests (PIPL): recorded once, applied to every data file and the quarantine."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
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
    con.execute("drop table day_erasures_new")
    purged = ", ".join(
        f"case when {_q(erasure.key)} in {erased} then null else {_q(c)} end as {_q(c)}"
        for c in (*erasure.purge, "_quarantine_record")
    )
    for business_date_, path, stored in files:
        if path not in dirty:
            continue
        folder = lake / spec.table / business_date_.isoformat() / uuid.uuid4().hex[:12]
        journal_write(con, spec, lake, folder)
        new = folder / Path(path).name
        new.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select * replace ({purged}) from read_parquet({_lit(path)})) "
            f"to {_lit(str(new))} ({PARQUET_OPTIONS})"
        )
        con.execute(
            "update lake.data_files set data_path = ? where source = ? and data_path = ?",
            [new.relative_to(lake).as_posix(), spec.name, stored],
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
