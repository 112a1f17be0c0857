"""The simulated zone of the end-to-end tests, and its helpers: five small days through Dagster
(tests/pipeline/conftest.py runs them once for every module of this folder)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

START = dt.date(2026, 3, 1)
DAYS = 5
END = START + dt.timedelta(days=DAYS - 1)
PII_KEY = "e2e-key"


def landing_records(landing: Path, source: str, name: str) -> Iterator[dict]:
    """Every record of a JSON-lines source of the landing zone, in folder order."""
    for path in sorted(landing.glob(f"{source}/*/{name}")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            yield from (json.loads(line) for line in handle if line.strip())


def request_erasure(landing: Path, day: dt.date) -> dict:
    """Appends an erasure request to `day`'s customers file for the first customer (by id) who
    paid an order before `day` and has a phone and a unionid; returns their record before it.

    The request carries the personal data still (as a CRM may send it): purging is the
    warehouse's job."""
    paid_before = {
        o["customer_id"]
        for o in landing_records(landing, "orders", "orders.jsonl.gz")
        if o["customer_id"] and o["paid_at"] and o["paid_at"][:10] < day.isoformat()
    }
    latest: dict[str, dict] = {}
    for record in landing_records(landing, "customers", "customers.jsonl"):
        if record["updated_at"] >= latest.get(record["customer_id"], {}).get("updated_at", ""):
            latest[record["customer_id"]] = record
    customer_id = min(
        c
        for c, r in latest.items()
        if c in paid_before and r["phone"] and r["wechat_unionid"] and not r["deleted"]
    )
    record = latest[customer_id]
    request = {**record, "updated_at": f"{day}T23:00:00+08:00", "deleted": True}
    path = landing / "customers" / day.isoformat() / "customers.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + json.dumps(request, ensure_ascii=False) + "\n", encoding="utf-8")
    return record


def query(settings: Any, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query on the run's warehouse, read-only (`settings` of simulated_run)."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
