"""Every file of sources.md, every day, with the exact headers, encodings, units and domains."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from .conftest import DAYS, START
from .readers import data_files, day_folders, read_csv, read_jsonl

# The contract, copied from sources.md (not imported from the simulator).
EXPECTED = {
    "ads": {
        "qianchuan.csv": "日期, 计划ID, 计划名称, 展示数, 点击数, 消耗(元), 直接成交订单数, "
        "直接成交金额(元)",
        "juguang.csv": "date, campaign_id, campaign_name, impressions, clicks, spend_yuan, "
        "engagements, note_id",
        "tencent_ads.csv": "日期, 广告ID, 广告名称, 曝光量, 点击量, 花费(分)",
    },
    "events": {
        "events.jsonl.gz": "event_id, event_time, event_type, anonymous_id, user_id, "
        "session_id, platform, utm_source, utm_medium, utm_campaign, utm_content, "
        "referrer_customer_id, page_url, sku_id, order_id, province, city, device_os, "
        "experiment_id, variant"
    },
    "content": {
        "posts.csv": "stat_date, platform, post_id, koc_id, post_type, publish_time, "
        "impressions, views, avg_watch_ratio, likes, comments, shares, saves, "
        "link_clicks, positive_comments, negative_comments"
    },
    "koc": {
        "roster.csv": "koc_id, platform, nickname, followers, category, city, cooperation, "
        "fee_per_post_yuan, commission_rate, joined_date"
    },
    "listening": {
        "brand_mentions.csv": "date, platform, brand, mentions, positive, neutral, negative, "
        "search_index",
        "associations.csv": "date, platform, brand, keyword, co_mentions",
    },
    "customers": {
        "customers.jsonl": "customer_id, updated_at, phone, wechat_unionid, gender, "
        "birth_year, province, city, registered_at, register_channel, member_tier, "
        "wecom_added, opt_out_marketing, deleted"
    },
    "crm_touches": {
        "touches.csv": "touch_id, customer_id, campaign_id, channel, sent_at, "
        "delivered, opened_at, clicked_at, content_type"
    },
    "referrals": {
        "referrals.csv": "referral_id, inviter_customer_id, invitee_anonymous_id, "
        "invitee_customer_id, activity, invited_at, reward_points"
    },
    "loyalty": {"points.csv": "ledger_id, customer_id, occurred_at, points_delta, reason"},
    "surveys": {
        "responses.csv": "response_id, customer_id, responded_at, survey, nps_score, "
        "aware_unaided, aware_aided, rating_reputation, associations"
    },
    "orders": {
        "orders.jsonl.gz": "order_id, store, customer_id, buyer_ref, anonymous_id, "
        "created_at, paid_at, updated_at, status, items, shipping_fee, discount_total, "
        "paid_amount, refund_amount, coupon_code, province, city, utm_source, "
        "utm_medium, utm_campaign"
    },
    "products": {
        "products.csv": "sku_id, spu_id, name, category, series, unit_cost, "
        "list_price, launch_date, status, supplier_id, shelf_life_days"
    },
    "inventory": {
        "inventory.csv": "snapshot_date, warehouse_id, sku_id, on_hand, reserved, "
        "in_transit, safety_stock"
    },
    "purchase_orders": {
        "purchase_orders.csv": "po_id, po_type, supplier_id, sku_id, "
        "ordered_at, promised_date, received_at, qty_ordered, qty_received, "
        "unit_cost, status, updated_at"
    },
    "shipments": {
        "shipments.csv": "shipment_id, order_id, warehouse_id, carrier, created_at, "
        "shipped_at, promised_delivery_date, delivered_at, status, updated_at"
    },
    "suppliers": {
        "suppliers.csv": "supplier_id, name, region, tier, certified, "
        "payment_terms_days, backup_supplier_id"
    },
}
CSV_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
JSON_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def cols(spec: str) -> list[str]:
    return [c.strip() for c in spec.split(",")]


def dates() -> list[str]:
    return [str(START + dt.timedelta(days=k)) for k in range(DAYS)]


def test_every_source_every_day_with_success(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(EXPECTED)
    for source, files in EXPECTED.items():
        assert [p.name for p in day_folders(root, source)] == dates(), source
        for folder in day_folders(root, source):
            assert (folder / "_SUCCESS").read_bytes() == b""
            for name in files:
                assert data_files(folder, name), f"{folder}/{name} missing"


def test_csv_headers_and_encodings(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    for source, files in EXPECTED.items():
        for name, spec in files.items():
            if not name.endswith(".csv"):
                continue
            for folder in day_folders(root, source):
                raw = (folder / name).read_bytes()
                if name == "qianchuan.csv":
                    assert raw.startswith(b"\xef\xbb\xbf")
                else:
                    assert not raw.startswith(b"\xef\xbb\xbf")
                if name == "tencent_ads.csv":
                    with pytest.raises(UnicodeDecodeError):
                        raw.decode("utf-8")  # Chinese headers in GBK are not valid UTF-8
                header, _ = read_csv(folder / name)
                assert header == cols(spec), f"{source}/{name}"


def test_json_keys(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    for source, name in (
        ("events", "events.jsonl.gz"),
        ("orders", "orders.jsonl.gz"),
        ("customers", "customers.jsonl"),
    ):
        want = cols(EXPECTED[source][name])
        for folder in day_folders(root, source):
            n = 0
            for f in data_files(folder, name):
                for rec in read_jsonl(f):
                    assert list(rec) == want
                    n += 1
            assert n > 0, folder


def test_ads_units(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    for folder in day_folders(root, "ads"):
        _, qc = read_csv(folder / "qianchuan.csv")
        _, jg = read_csv(folder / "juguang.csv")
        _, tx = read_csv(folder / "tencent_ads.csv")
        assert qc and jg and tx
        for r in qc:
            assert r["日期"] == folder.name and MONEY.match(r["消耗(元)"])
            assert MONEY.match(r["直接成交金额(元)"]) and int(r["点击数"]) <= int(r["展示数"])
        for r in jg:
            assert MONEY.match(r["spend_yuan"]) and int(r["clicks"]) <= int(r["impressions"])
        for r in tx:
            assert re.fullmatch(r"\d+", r["花费(分)"]), "Tencent cost is integer fen"
            assert int(r["花费(分)"]) > 1000


def test_csv_domains(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    checks = {
        ("content", "posts.csv"): {
            "platform": {"douyin", "xiaohongshu", "wechat_channels", "weibo"},
            "post_type": {"short_video", "note", "live", "article"},
        },
        ("koc", "roster.csv"): {"cooperation": {"long_term", "task", "affiliate"}},
        ("crm_touches", "touches.csv"): {
            "channel": {"sms", "wecom", "miniprogram_push", "app_push", "email"},
            "delivered": {"0", "1"},
        },
        ("referrals", "referrals.csv"): {
            "activity": {"friend_assist", "group_buy", "share_coupon"}
        },
        ("loyalty", "points.csv"): {
            "reason": {"purchase", "referral", "review", "redeem", "expire"}
        },
        ("surveys", "responses.csv"): {"survey": {"nps", "brand_tracker"}},
        ("purchase_orders", "purchase_orders.csv"): {
            "po_type": {"purchase", "production"},
            "status": {"open", "partial", "received", "cancelled"},
        },
        ("shipments", "shipments.csv"): {
            "carrier": {"sf", "jd_logistics", "zto", "yto", "ems"},
            "status": {"created", "in_transit", "delivered", "exception", "returned"},
        },
        ("suppliers", "suppliers.csv"): {"tier": {"strategic", "preferred", "approved"}},
    }
    ts_cols = {
        "publish_time",
        "sent_at",
        "opened_at",
        "clicked_at",
        "invited_at",
        "occurred_at",
        "responded_at",
        "ordered_at",
        "received_at",
        "updated_at",
        "created_at",
        "shipped_at",
        "delivered_at",
    }
    for (source, name), domains in checks.items():
        seen = 0
        for folder in day_folders(root, source):
            _, rows = read_csv(folder / name)
            for r in rows:
                seen += 1
                for col, dom in domains.items():
                    assert r[col] in dom, (source, col, r[col])
                for col in ts_cols & r.keys():
                    assert r[col] == "" or CSV_TS.match(r[col]), (source, col, r[col])
        assert seen > 0, source
    for folder in day_folders(root, "surveys"):
        for r in read_csv(folder / "responses.csv")[1]:
            if r["survey"] == "nps":
                assert 0 <= int(r["nps_score"]) <= 10 and r["aware_aided"] == ""
            else:
                assert r["nps_score"] == "" and r["aware_aided"] in {"0", "1"}
                assert 1 <= int(r["rating_reputation"]) <= 5
    for folder in day_folders(root, "content"):
        for r in read_csv(folder / "posts.csv")[1]:
            if r["post_type"] in ("note", "article"):
                assert r["avg_watch_ratio"] == ""
            else:
                assert 0 <= float(r["avg_watch_ratio"]) <= 1
    for folder in day_folders(root, "products"):
        for r in read_csv(folder / "products.csv")[1]:
            assert MONEY.match(r["unit_cost"]) and MONEY.match(r["list_price"])
            assert DATE.match(r["launch_date"])
            assert float(r["unit_cost"]) < float(r["list_price"])
    for folder in day_folders(root, "inventory"):
        for r in read_csv(folder / "inventory.csv")[1]:
            assert r["snapshot_date"] == folder.name and int(r["on_hand"]) >= 0


def test_orders_domains_and_lifecycle(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    stores = {"tmall", "jd", "pinduoduo", "douyin_shop", "wechat_miniprogram", "own_site"}
    statuses = {
        "created",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "refunded",
        "partially_refunded",
    }
    guests = owned = multi_day = 0
    seen: dict[str, int] = {}
    for folder in day_folders(root, "orders"):
        for o in read_jsonl(folder / "orders.jsonl.gz"):
            assert o["store"] in stores and o["status"] in statuses
            for k in ("created_at", "updated_at"):
                assert JSON_TS.match(o[k])
            if o["status"] in ("created", "cancelled"):
                assert o["paid_at"] is None and o["paid_amount"] == 0
            else:
                assert JSON_TS.match(o["paid_at"])
            assert o["updated_at"][:10] == folder.name
            assert o["items"] and all(i["qty"] >= 1 for i in o["items"])
            gross = sum(i["qty"] * i["unit_price"] for i in o["items"])
            if o["paid_at"]:
                assert (
                    abs(gross - o["discount_total"] + o["shipping_fee"] - o["paid_amount"]) < 0.011
                )
            assert 0 <= o["refund_amount"] <= o["paid_amount"] + 1e-9
            if o["store"] in ("wechat_miniprogram", "own_site"):
                owned += 1
                assert o["customer_id"] and o["anonymous_id"] and o["buyer_ref"] is None
            else:
                assert o["buyer_ref"] and o["anonymous_id"] is None and o["utm_source"] is None
                guests += o["customer_id"] is None
            if o["order_id"] in seen and seen[o["order_id"]] != folder.name:
                multi_day += 1
            seen.setdefault(o["order_id"], folder.name)
    assert guests > 0 and owned > 0 and multi_day > 0


def test_events_domains(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    types = {
        "page_view",
        "product_view",
        "add_to_cart",
        "lead_submit",
        "coupon_claim",
        "checkout",
        "purchase",
        "share",
    }
    counts: dict[str, int] = {}
    ids: dict[str, int] = {}
    late = 0
    for folder in day_folders(root, "events"):
        for f in data_files(folder, "events.jsonl.gz"):
            for e in read_jsonl(f):
                assert e["event_type"] in types and JSON_TS.match(e["event_time"])
                assert e["anonymous_id"] and e["session_id"]
                counts[e["event_type"]] = counts.get(e["event_type"], 0) + 1
                ids[e["event_id"]] = ids.get(e["event_id"], 0) + 1
                d = e["event_time"][:10]
                assert d <= folder.name
                delay = (dt.date.fromisoformat(folder.name) - dt.date.fromisoformat(d)).days
                assert delay <= 3
                late += delay > 0
                if e["event_type"] == "purchase":
                    assert e["order_id"] and e["user_id"]
                if e["variant"] is not None:
                    assert e["experiment_id"] and e["variant"] in {"control", "b", "c"}
    assert set(counts) == types
    assert late > 0, "some events arrive 1-3 days late"
    assert any(v > 1 for v in ids.values()), "SDK retries duplicate some event_ids"


def test_customers_feed(clean_zone: tuple[Path, dict]) -> None:
    root, _ = clean_zone
    deleted = 0
    for folder in day_folders(root, "customers"):
        for c in read_jsonl(folder / "customers.jsonl"):
            assert c["member_tier"] in {"none", "silver", "gold", "platinum"}
            assert c["updated_at"][:10] == folder.name and JSON_TS.match(c["registered_at"])
            if c["deleted"]:
                deleted += 1
                assert c["phone"] is None and c["wechat_unionid"] is None
            else:
                assert re.fullmatch(r"1\d{10}", c["phone"])
    assert deleted > 0, "erasure requests appear"
