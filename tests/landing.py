"""Hand-written landing-zone files in the exact shape of sources.md, for small focused tests."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

PRODUCT_HEADER = [
    "sku_id",
    "spu_id",
    "name",
    "category",
    "series",
    "unit_cost",
    "list_price",
    "launch_date",
    "status",
    "supplier_id",
    "shelf_life_days",
]


def day_dir(landing: Path, source: str, day: dt.date, ready: bool = True) -> Path:
    folder = landing / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    if ready:
        (folder / "_SUCCESS").touch()
    return folder


def order(
    order_id: str,
    day: dt.date,
    status: str = "paid",
    *,
    hour: int = 10,
    paid: bool = True,
    amount: float = 100.0,
    refund: float = 0.0,
    customer_id: str | None = "C1",
    store: str = "own_site",
    updated_hour: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    created = dt.datetime.combine(day, dt.time(hour, 0))
    updated = dt.datetime.combine(
        day, dt.time(updated_hour if updated_hour is not None else hour, 30)
    )
    record = {
        "order_id": order_id,
        "store": store,
        "customer_id": customer_id,
        "buyer_ref": None if customer_id else "b-" + order_id,
        "anonymous_id": "A-" + (customer_id or order_id),
        "created_at": created.isoformat() + "+08:00",
        "paid_at": (created + dt.timedelta(minutes=5)).isoformat() + "+08:00" if paid else None,
        "updated_at": updated.isoformat() + "+08:00",
        "status": status,
        "items": [{"sku_id": "S1", "qty": 2, "unit_price": amount / 2, "discount": 0}],
        "shipping_fee": 0,
        "discount_total": 0,
        "paid_amount": amount if paid else 0,
        "refund_amount": refund,
        "coupon_code": None,
        "province": "广东",
        "city": "深圳",
        "utm_source": "douyin" if store == "own_site" else None,
        "utm_medium": "cpc" if store == "own_site" else None,
        "utm_campaign": "qc-1" if store == "own_site" else None,
    }
    record.update(extra)
    return record


def write_orders(
    landing: Path,
    day: dt.date,
    records: list[dict[str, Any] | str],
    ready: bool = True,
    name: str = "orders.jsonl.gz",
) -> Path:
    folder = day_dir(landing, "orders", day, ready)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path = folder / name
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        handle.write(("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))
    return path


def product_rows(n: int = 3) -> list[list[Any]]:
    return [
        [
            f"S{i}",
            "P1",
            f"Cream {i}",
            "skincare",
            "hydra",
            "10.50",
            "99.00",
            "2025-01-01",
            "active",
            "SUP1",
            "365",
        ]
        for i in range(1, n + 1)
    ]


def write_products(
    landing: Path,
    day: dt.date,
    rows: list[list[Any]] | None = None,
    header: list[str] | None = None,
    ready: bool = True,
    encoding: str = "utf-8",
) -> Path:
    folder = day_dir(landing, "products", day, ready)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header or PRODUCT_HEADER)
    writer.writerows(product_rows() if rows is None else rows)
    path = folder / "products.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
