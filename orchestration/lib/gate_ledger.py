"""The gate ledger: every gate's latest verdict on every business date (`audit.gate_results`).

A gate judges each date of a run on its own. A date that failed a gate of the landed data is
held back: the dbt build leaves its landing folders and its dates out of the marts, and no
report is written for it, until a later run of that date passes. The ledger is how the steps
after the gates (and later runs, and an engineer with SQL) know which dates those are; it
lives in the warehouse file beside the load log, whichever engine builds the marts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from orchestration.lib.sql import table_exists, transaction

LEDGER_DDL = """
create schema if not exists audit;
create table if not exists audit.gate_results (
    gate varchar, asset varchar, business_date date, passed boolean, rows bigint,
    failures varchar, checked_at timestamp, run_id varchar
);
"""

# Gates of the landed data (the ingestion assets `raw/<table>`): their failures hold a date's
# landing folders out of the build. The report's gate runs on the marts that were built.
LANDED_DATA_ASSET_PREFIX = "raw/"


@dataclass
class GateResult:
    gate: str
    asset: str
    business_date: str
    passed: bool
    rows: int
    failures: list[dict[str, Any]] = field(default_factory=list)


def record_gate_results(
    con: duckdb.DuckDBPyConnection, results: Iterable[GateResult], run_id: str | None
) -> None:
    """Replaces the verdicts of these gates on these dates, in one transaction."""
    rows = [
        [
            r.gate,
            r.asset,
            r.business_date,
            r.passed,
            r.rows,
            json.dumps(r.failures, ensure_ascii=False, default=str),
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            run_id,
        ]
        for r in results
    ]
    if not rows:
        return
    con.execute(LEDGER_DDL)
    with transaction(con):
        con.executemany(
            "delete from audit.gate_results where gate = ? and business_date = cast(? as date)",
            [[r[0], r[2]] for r in rows],
        )
        con.executemany(
            "insert into audit.gate_results values (?, ?, cast(? as date), ?, ?, ?, ?, ?)", rows
        )


def failed_gates(
    con: duckdb.DuckDBPyConnection,
    dates: Iterable[str] | None = None,
    landed_data_only: bool = False,
) -> dict[str, list[str]]:
    """Dates whose latest verdict of some gate is a failure, with those gates (every date
    when `dates` is None). `landed_data_only`: only the gates of the landed data."""
    if not table_exists(con, "audit", "gate_results"):
        return {}
    query = (
        "select cast(business_date as varchar), list(gate order by gate) "
        "from audit.gate_results where not passed"
    )
    params: list[Any] = []
    if landed_data_only:
        query += " and starts_with(asset, ?)"
        params.append(LANDED_DATA_ASSET_PREFIX)
    wanted = sorted(set(dates)) if dates is not None else None
    if wanted is not None:
        if not wanted:
            return {}
        query += " and business_date in (select unnest(cast(? as date[])))"
        params.append(wanted)
    return dict(con.execute(query + " group by 1 order by 1", params).fetchall())
