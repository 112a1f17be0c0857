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


# ----------------------------------------------------------------------------- every other source
# Exact headers of sources.md, per source and file.
QIANCHUAN_HEADER = [
    "日期",
    "计划ID",
    "计划名称",
    "展示数",
    "点击数",
    "消耗(元)",
    "直接成交订单数",
    "直接成交金额(元)",
]
JUGUANG_HEADER = [
    "date",
    "campaign_id",
    "campaign_name",
    "impressions",
    "clicks",
    "spend_yuan",
    "engagements",
    "note_id",
]
TENCENT_HEADER = ["日期", "广告ID", "广告名称", "曝光量", "点击量", "花费(分)"]
EVENT_FIELDS = [
    "event_id",
    "event_time",
    "event_type",
    "anonymous_id",
    "user_id",
    "session_id",
    "platform",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "referrer_customer_id",
    "page_url",
    "sku_id",
    "order_id",
    "province",
    "city",
    "device_os",
    "experiment_id",
    "variant",
]
POSTS_HEADER = [
    "stat_date",
    "platform",
    "post_id",
    "koc_id",
    "post_type",
    "publish_time",
    "impressions",
    "views",
    "avg_watch_ratio",
    "likes",
    "comments",
    "shares",
    "saves",
    "link_clicks",
    "positive_comments",
    "negative_comments",
]
ROSTER_HEADER = [
    "koc_id",
    "platform",
    "nickname",
    "followers",
    "category",
    "city",
    "cooperation",
    "fee_per_post_yuan",
    "commission_rate",
    "joined_date",
]
MENTIONS_HEADER = [
    "date",
    "platform",
    "brand",
    "mentions",
    "positive",
    "neutral",
    "negative",
    "search_index",
]
ASSOCIATIONS_HEADER = ["date", "platform", "brand", "keyword", "co_mentions"]
CUSTOMER_FIELDS = [
    "customer_id",
    "updated_at",
    "phone",
    "wechat_unionid",
    "gender",
    "birth_year",
    "province",
    "city",
    "registered_at",
    "register_channel",
    "member_tier",
    "wecom_added",
    "opt_out_marketing",
    "deleted",
]
TOUCHES_HEADER = [
    "touch_id",
    "customer_id",
    "campaign_id",
    "channel",
    "sent_at",
    "delivered",
    "opened_at",
    "clicked_at",
    "content_type",
]
REFERRALS_HEADER = [
    "referral_id",
    "inviter_customer_id",
    "invitee_anonymous_id",
    "invitee_customer_id",
    "activity",
    "invited_at",
    "reward_points",
]
POINTS_HEADER = ["ledger_id", "customer_id", "occurred_at", "points_delta", "reason"]
RESPONSES_HEADER = [
    "response_id",
    "customer_id",
    "responded_at",
    "survey",
    "nps_score",
    "aware_unaided",
    "aware_aided",
    "rating_reputation",
    "associations",
]
INVENTORY_HEADER = [
    "snapshot_date",
    "warehouse_id",
    "sku_id",
    "on_hand",
    "reserved",
    "in_transit",
    "safety_stock",
]
PURCHASE_ORDERS_HEADER = [
    "po_id",
    "po_type",
    "supplier_id",
    "sku_id",
    "ordered_at",
    "promised_date",
    "received_at",
    "qty_ordered",
    "qty_received",
    "unit_cost",
    "status",
    "updated_at",
]
SHIPMENTS_HEADER = [
    "shipment_id",
    "order_id",
    "warehouse_id",
    "carrier",
    "created_at",
    "shipped_at",
    "promised_delivery_date",
    "delivered_at",
    "status",
    "updated_at",
]
SUPPLIERS_HEADER = [
    "supplier_id",
    "name",
    "region",
    "tier",
    "certified",
    "payment_terms_days",
    "backup_supplier_id",
]


def local_time(day: dt.date, hour: int = 10, minute: int = 0) -> str:
    """A naive Asia/Shanghai time, as CSV exports write it."""
    return dt.datetime.combine(day, dt.time(hour, minute)).strftime("%Y-%m-%d %H:%M:%S")


def offset_time(day: dt.date, hour: int = 10, minute: int = 0) -> str:
    """An ISO-8601 time with offset, as JSON sources write it."""
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat() + "+08:00"


def write_csv_file(
    landing: Path,
    source: str,
    day: dt.date,
    name: str,
    header: list[str],
    rows: list[list[Any]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    ready: bool = True,
) -> Path:
    """A CSV export; `None` becomes an empty field, `bom` prefixes the UTF-8 byte-order mark."""
    folder = day_dir(landing, source, day, ready)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    data = buffer.getvalue().encode(encoding)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_jsonl_file(
    landing: Path,
    source: str,
    day: dt.date,
    name: str,
    records: list[dict[str, Any] | str],
    *,
    ready: bool = True,
) -> Path:
    """A JSON-lines file, gzipped when the name ends in .gz; a str record is written as is."""
    folder = day_dir(landing, source, day, ready)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    path = folder / name
    if name.endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def qianchuan_row(day: dt.date, campaign_id: str = "1700000000000001", **kw: Any) -> list[Any]:
    values = {
        "日期": day.isoformat(),
        "计划ID": campaign_id,
        "计划名称": "千川-新品种草-01",
        "展示数": 10000,
        "点击数": 160,
        "消耗(元)": "380.50",
        "直接成交订单数": 4,
        "直接成交金额(元)": "796.00",
        **kw,
    }
    return [values[h] for h in QIANCHUAN_HEADER]


def juguang_row(day: dt.date, campaign_id: str = "jg1000000001", **kw: Any) -> list[Any]:
    values = {
        "date": day.isoformat(),
        "campaign_id": campaign_id,
        "campaign_name": "聚光-拉新-01",
        "impressions": 5000,
        "clicks": 65,
        "spend_yuan": "300.00",
        "engagements": 120,
        "note_id": "N1",
        **kw,
    }
    return [values[h] for h in JUGUANG_HEADER]


def tencent_row(day: dt.date, campaign_id: str = "12345678", **kw: Any) -> list[Any]:
    values = {
        "日期": day.isoformat(),
        "广告ID": campaign_id,
        "广告名称": "腾讯-品牌曝光-01",
        "曝光量": 8000,
        "点击量": 72,
        "花费(分)": 20850,
        **kw,
    }
    return [values[h] for h in TENCENT_HEADER]


def write_ads(
    landing: Path,
    day: dt.date,
    qianchuan: list[list[Any]] | None = None,
    juguang: list[list[Any]] | None = None,
    tencent: list[list[Any]] | None = None,
    *,
    tencent_encoding: str = "gbk",
    ready: bool = True,
) -> Path:
    """The three platform exports in their own shapes (Qianchuan with BOM, Tencent in GBK)."""
    write_csv_file(
        landing,
        "ads",
        day,
        "qianchuan.csv",
        QIANCHUAN_HEADER,
        [qianchuan_row(day)] if qianchuan is None else qianchuan,
        bom=True,
        ready=ready,
    )
    write_csv_file(
        landing,
        "ads",
        day,
        "juguang.csv",
        JUGUANG_HEADER,
        [juguang_row(day)] if juguang is None else juguang,
        ready=ready,
    )
    write_csv_file(
        landing,
        "ads",
        day,
        "tencent_ads.csv",
        TENCENT_HEADER,
        [tencent_row(day)] if tencent is None else tencent,
        encoding=tencent_encoding,
        ready=ready,
    )
    return day_dir(landing, "ads", day, ready)


def event(event_id: str, day: dt.date, event_type: str = "page_view", **kw: Any) -> dict[str, Any]:
    record: dict[str, Any] = {f: None for f in EVENT_FIELDS}
    record.update(
        event_id=event_id,
        event_time=offset_time(day, 20, 15),
        event_type=event_type,
        anonymous_id="A-1",
        user_id="C1",
        session_id="S-1",
        platform="h5",
        utm_source="douyin",
        utm_medium="cpc",
        utm_campaign="1700000000000001",
        page_url="https://m.lumina.cn/index",
        province="广东",
        city="深圳",
        device_os="iOS",
    )
    record.update(kw)
    return record


def customer(
    customer_id: str,
    day: dt.date,
    *,
    hour: int = 9,
    phone: str = "13800138000",
    unionid: str = "oUnion-0001",
    deleted: bool = False,
    **kw: Any,
) -> dict[str, Any]:
    record = {
        "customer_id": customer_id,
        "updated_at": offset_time(day, hour),
        "phone": phone,
        "wechat_unionid": unionid,
        "gender": "female",
        "birth_year": 1994,
        "province": "浙江",
        "city": "杭州",
        "registered_at": offset_time(day, 8),
        "register_channel": "wechat_miniprogram",
        "member_tier": "silver",
        "wecom_added": True,
        "opt_out_marketing": False,
        "deleted": deleted,
    }
    record.update(kw)
    return record


def post_row(day: dt.date, post_id: str = "P1", **kw: Any) -> list[Any]:
    values = {
        "stat_date": day.isoformat(),
        "platform": "douyin",
        "post_id": post_id,
        "koc_id": "KOC0001",
        "post_type": "short_video",
        "publish_time": local_time(day - dt.timedelta(days=1), 19),
        "impressions": 12000,
        "views": 3000,
        "avg_watch_ratio": "0.42",
        "likes": 210,
        "comments": 30,
        "shares": 12,
        "saves": 40,
        "link_clicks": 55,
        "positive_comments": 20,
        "negative_comments": 2,
        **kw,
    }
    return [values[h] for h in POSTS_HEADER]


def roster_row(koc_id: str = "KOC0001", **kw: Any) -> list[Any]:
    values = {
        "koc_id": koc_id,
        "platform": "xiaohongshu",
        "nickname": "小鹿测评",
        "followers": 52000,
        "category": "skincare",
        "city": "上海",
        "cooperation": "affiliate",
        "fee_per_post_yuan": "0.00",
        "commission_rate": "0.15",
        "joined_date": "2025-06-01",
        **kw,
    }
    return [values[h] for h in ROSTER_HEADER]


def mention_row(day: dt.date, brand: str = "lumina", **kw: Any) -> list[Any]:
    values = {
        "date": day.isoformat(),
        "platform": "xiaohongshu",
        "brand": brand,
        "mentions": 1200,
        "positive": 700,
        "neutral": 400,
        "negative": 100,
        "search_index": "356.5",
        **kw,
    }
    return [values[h] for h in MENTIONS_HEADER]


def association_row(day: dt.date, keyword: str = "温和", **kw: Any) -> list[Any]:
    values = {
        "date": day.isoformat(),
        "platform": "xiaohongshu",
        "brand": "lumina",
        "keyword": keyword,
        "co_mentions": 88,
        **kw,
    }
    return [values[h] for h in ASSOCIATIONS_HEADER]


def touch_row(day: dt.date, touch_id: str = "T1", **kw: Any) -> list[Any]:
    values = {
        "touch_id": touch_id,
        "customer_id": "C1",
        "campaign_id": "CRM26030101",
        "channel": "wecom",
        "sent_at": local_time(day, 11),
        "delivered": 1,
        "opened_at": None,
        "clicked_at": None,
        "content_type": "coupon",
        **kw,
    }
    return [values[h] for h in TOUCHES_HEADER]


def referral_row(day: dt.date, referral_id: str = "R1", **kw: Any) -> list[Any]:
    values = {
        "referral_id": referral_id,
        "inviter_customer_id": "C1",
        "invitee_anonymous_id": "A-9",
        "invitee_customer_id": "C9",
        "activity": "friend_assist",
        "invited_at": local_time(day, 12),
        "reward_points": 50,
        **kw,
    }
    return [values[h] for h in REFERRALS_HEADER]


def points_row(day: dt.date, ledger_id: str = "L1", **kw: Any) -> list[Any]:
    values = {
        "ledger_id": ledger_id,
        "customer_id": "C1",
        "occurred_at": local_time(day, 13),
        "points_delta": 100,
        "reason": "purchase",
        **kw,
    }
    return [values[h] for h in POINTS_HEADER]


def response_row(day: dt.date, response_id: str = "SR1", **kw: Any) -> list[Any]:
    values = {
        "response_id": response_id,
        "customer_id": "C1",
        "responded_at": local_time(day, 14),
        "survey": "nps",
        "nps_score": 9,
        "aware_unaided": None,
        "aware_aided": None,
        "rating_reputation": None,
        "associations": None,
        **kw,
    }
    return [values[h] for h in RESPONSES_HEADER]


def inventory_row(day: dt.date, sku_id: str = "S1", **kw: Any) -> list[Any]:
    values = {
        "snapshot_date": day.isoformat(),
        "warehouse_id": "WH_SH",
        "sku_id": sku_id,
        "on_hand": 120,
        "reserved": 10,
        "in_transit": 50,
        "safety_stock": 30,
        **kw,
    }
    return [values[h] for h in INVENTORY_HEADER]


def purchase_order_row(day: dt.date, po_id: str = "PO1", **kw: Any) -> list[Any]:
    values = {
        "po_id": po_id,
        "po_type": "purchase",
        "supplier_id": "SUP1",
        "sku_id": "S1",
        "ordered_at": local_time(day - dt.timedelta(days=5), 9),
        "promised_date": (day + dt.timedelta(days=10)).isoformat(),
        "received_at": None,
        "qty_ordered": 500,
        "qty_received": 0,
        "unit_cost": "10.50",
        "status": "open",
        "updated_at": local_time(day, 9),
        **kw,
    }
    return [values[h] for h in PURCHASE_ORDERS_HEADER]


def shipment_row(day: dt.date, shipment_id: str = "SH1", **kw: Any) -> list[Any]:
    values = {
        "shipment_id": shipment_id,
        "order_id": "o1",
        "warehouse_id": "WH_SH",
        "carrier": "sf",
        "created_at": local_time(day, 10),
        "shipped_at": None,
        "promised_delivery_date": (day + dt.timedelta(days=3)).isoformat(),
        "delivered_at": None,
        "status": "created",
        "updated_at": local_time(day, 10),
        **kw,
    }
    return [values[h] for h in SHIPMENTS_HEADER]


def supplier_row(supplier_id: str = "SUP1", **kw: Any) -> list[Any]:
    values = {
        "supplier_id": supplier_id,
        "name": "华东代工厂",
        "region": "east",
        "tier": "strategic",
        "certified": "true",
        "payment_terms_days": 60,
        "backup_supplier_id": None,
        **kw,
    }
    return [values[h] for h in SUPPLIERS_HEADER]


# Single-file CSV sources: source -> (file name, header).
CSV_SOURCES: dict[str, tuple[str, list[str]]] = {
    "content": ("posts.csv", POSTS_HEADER),
    "koc": ("roster.csv", ROSTER_HEADER),
    "crm_touches": ("touches.csv", TOUCHES_HEADER),
    "referrals": ("referrals.csv", REFERRALS_HEADER),
    "loyalty": ("points.csv", POINTS_HEADER),
    "surveys": ("responses.csv", RESPONSES_HEADER),
    "inventory": ("inventory.csv", INVENTORY_HEADER),
    "purchase_orders": ("purchase_orders.csv", PURCHASE_ORDERS_HEADER),
    "shipments": ("shipments.csv", SHIPMENTS_HEADER),
    "suppliers": ("suppliers.csv", SUPPLIERS_HEADER),
}


def write_source_csv(
    landing: Path,
    source: str,
    day: dt.date,
    rows: list[list[Any]],
    *,
    header: list[str] | None = None,
    encoding: str = "utf-8",
    ready: bool = True,
) -> Path:
    """The one CSV file of a single-file source (see CSV_SOURCES), in its sources.md shape."""
    name, default_header = CSV_SOURCES[source]
    return write_csv_file(
        landing, source, day, name, header or default_header, rows, encoding=encoding, ready=ready
    )


def write_listening(
    landing: Path,
    day: dt.date,
    mentions: list[list[Any]] | None = None,
    associations: list[list[Any]] | None = None,
    ready: bool = True,
) -> Path:
    write_csv_file(
        landing,
        "listening",
        day,
        "brand_mentions.csv",
        MENTIONS_HEADER,
        [mention_row(day), mention_row(day, "aurelia")] if mentions is None else mentions,
        ready=ready,
    )
    write_csv_file(
        landing,
        "listening",
        day,
        "associations.csv",
        ASSOCIATIONS_HEADER,
        [association_row(day)] if associations is None else associations,
        ready=ready,
    )
    return day_dir(landing, "listening", day, ready)


def write_all_sources(landing: Path, day: dt.date) -> None:
    """A small, valid, complete day of all 16 sources (every folder with `_SUCCESS`)."""
    write_products(landing, day)
    write_orders(landing, day, [order(f"{day}-o1", day), order(f"{day}-o2", day, store="tmall")])
    write_ads(landing, day)
    write_jsonl_file(
        landing,
        "events",
        day,
        "events.jsonl.gz",
        [event(f"{day}-e1", day), event(f"{day}-e2", day, "purchase", order_id=f"{day}-o1")],
    )
    write_jsonl_file(landing, "customers", day, "customers.jsonl", [customer("C1", day)])
    write_listening(landing, day)
    rows = {
        "content": [post_row(day)],
        "koc": [roster_row()],
        "crm_touches": [touch_row(day)],
        "referrals": [referral_row(day)],
        "loyalty": [points_row(day)],
        "surveys": [response_row(day)],
        "inventory": [inventory_row(day)],
        "purchase_orders": [purchase_order_row(day)],
        "shipments": [shipment_row(day)],
        "suppliers": [supplier_row()],
    }
    for source, source_rows in rows.items():
        write_source_csv(landing, source, day, source_rows)
