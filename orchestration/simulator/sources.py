"""Writers of the sixteen landing-zone sources, exactly as sources.md lays them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from . import config as C
from .commerce import ORDERS_SQL, SHIPMENTS_SQL, orders_table, shipments_table
from .io import (
    DAY,
    NEVER,
    GzipPool,
    copy_jsonl,
    dict_array,
    int_array,
    mix64,
    ts_array,
    write_csv,
    write_csv_rows,
    write_jsonl_gz,
)
from .traffic import touch_cls

HEADERS: dict[str, tuple[str, ...]] = {
    "qianchuan.csv": (
        "日期",
        "计划ID",
        "计划名称",
        "展示数",
        "点击数",
        "消耗(元)",
        "直接成交订单数",
        "直接成交金额(元)",
    ),
    "juguang.csv": (
        "date",
        "campaign_id",
        "campaign_name",
        "impressions",
        "clicks",
        "spend_yuan",
        "engagements",
        "note_id",
    ),
    "tencent_ads.csv": ("日期", "广告ID", "广告名称", "曝光量", "点击量", "花费(分)"),
    "events.jsonl.gz": (
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
    ),
    "posts.csv": (
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
    ),
    "roster.csv": (
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
    ),
    "brand_mentions.csv": (
        "date",
        "platform",
        "brand",
        "mentions",
        "positive",
        "neutral",
        "negative",
        "search_index",
    ),
    "associations.csv": ("date", "platform", "brand", "keyword", "co_mentions"),
    "customers.jsonl": (
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
    ),
    "touches.csv": (
        "touch_id",
        "customer_id",
        "campaign_id",
        "channel",
        "sent_at",
        "delivered",
        "opened_at",
        "clicked_at",
        "content_type",
    ),
    "referrals.csv": (
        "referral_id",
        "inviter_customer_id",
        "invitee_anonymous_id",
        "invitee_customer_id",
        "activity",
        "invited_at",
        "reward_points",
    ),
    "points.csv": ("ledger_id", "customer_id", "occurred_at", "points_delta", "reason"),
    "responses.csv": (
        "response_id",
        "customer_id",
        "responded_at",
        "survey",
        "nps_score",
        "aware_unaided",
        "aware_aided",
        "rating_reputation",
        "associations",
    ),
    "orders.jsonl.gz": (
        "order_id",
        "store",
        "customer_id",
        "buyer_ref",
        "anonymous_id",
        "created_at",
        "paid_at",
        "updated_at",
        "status",
        "items",
        "shipping_fee",
        "discount_total",
        "paid_amount",
        "refund_amount",
        "coupon_code",
        "province",
        "city",
        "utm_source",
        "utm_medium",
        "utm_campaign",
    ),
    "products.csv": (
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
    ),
    "inventory.csv": (
        "snapshot_date",
        "warehouse_id",
        "sku_id",
        "on_hand",
        "reserved",
        "in_transit",
        "safety_stock",
    ),
    "purchase_orders.csv": (
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
    ),
    "shipments.csv": (
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
    ),
    "suppliers.csv": (
        "supplier_id",
        "name",
        "region",
        "tier",
        "certified",
        "payment_terms_days",
        "backup_supplier_id",
    ),
}

SOURCES: dict[str, tuple[str, ...]] = {
    "ads": ("qianchuan.csv", "juguang.csv", "tencent_ads.csv"),
    "events": ("events.jsonl.gz",),
    "content": ("posts.csv",),
    "koc": ("roster.csv",),
    "listening": ("brand_mentions.csv", "associations.csv"),
    "customers": ("customers.jsonl",),
    "crm_touches": ("touches.csv",),
    "referrals": ("referrals.csv",),
    "loyalty": ("points.csv",),
    "surveys": ("responses.csv",),
    "orders": ("orders.jsonl.gz",),
    "products": ("products.csv",),
    "inventory": ("inventory.csv",),
    "purchase_orders": ("purchase_orders.csv",),
    "shipments": ("shipments.csv",),
    "suppliers": ("suppliers.csv",),
}

CSV_TS = "'%Y-%m-%d %H:%M:%S'"
JSON_TS = "'%Y-%m-%dT%H:%M:%S+08:00'"
CID = "'C' || lpad({0}::VARCHAR, 9, '0')"


def _empty_csv(path: Path, name: str) -> None:
    write_csv_rows(path, HEADERS[name], [])


def _run(
    con,
    table: pa.Table | None,
    sql: str,
    path: Path,
    name: str,
    kind: str = "csv",
    pool: GzipPool | None = None,
    level: int = 6,
) -> None:
    if table is None or table.num_rows == 0:
        if kind == "csv":
            _empty_csv(path, name)
        elif kind == "jsonl":
            path.write_bytes(b"")
        else:
            write_jsonl_gz(con, "SELECT 1 AS x WHERE false", path, level)
        return
    con.register("t", table)
    q = sql.replace("{t}", "t")
    if kind == "csv":
        write_csv(con, q, path)
    elif kind == "jsonl":
        copy_jsonl(con, q, path)
    else:
        write_jsonl_gz(con, q, path, level, pool)
    con.unregister("t")


def with_dups(table: pa.Table, rng: np.random.Generator, rate: float) -> pa.Table:
    """The same change record twice (retries, re-exports): a copy right after the original."""
    n = table.num_rows
    if n == 0:
        return table
    rep = 1 + (rng.random(n) < rate)
    return table.take(pa.array(np.repeat(np.arange(n), rep)))


# ------------------------------------------------------------------------------ orders
def write_orders(w, con, folder: Path, parts: list[dict], rng: np.random.Generator) -> int:
    t = orders_table(w, parts)
    if t is not None:
        t = with_dups(t, rng, 0.002)
    _run(con, t, ORDERS_SQL, folder / "orders.jsonl.gz", "orders.jsonl.gz", kind="gz")
    return 0 if t is None else t.num_rows


def write_shipments(w, con, folder: Path, parts: list[dict]) -> None:
    _run(con, shipments_table(w, parts), SHIPMENTS_SQL, folder / "shipments.csv", "shipments.csv")


def write_products(w, con, folder: Path, i: int) -> None:
    n = len(w.sku_ids)
    status = np.where(w.sku_launch > i, 2, np.where(w.sku_disc, 1, 0))
    size = np.array(["50ml", "30ml", "100ml", "套装"])[w.sku_size]
    name = [
        f"露米娜{C.SERIES_CN[s]}{C.CATEGORY_CN[c]} {z}"
        for s, c, z in zip(w.sku_series.tolist(), w.sku_cat.tolist(), size.tolist(), strict=True)
    ]
    launch = w.t_start + w.sku_launch.astype(np.int64) * DAY
    t = pa.table(
        {
            "sku_id": pa.array(w.sku_ids),
            "spu": w.sku_spu,
            "name": pa.array(name),
            "category": dict_array(w.sku_cat, C.CATEGORIES),
            "series": dict_array(w.sku_series, C.SERIES),
            "cost": w.sku_cost,
            "price": w.sku_price,
            "launch": ts_array(launch),
            "status": dict_array(status, ("active", "discontinued", "pre_launch")),
            "sup": w.sku_supplier,
            "shelf": w.sku_shelf,
        }
    )
    sql = (
        "SELECT sku_id, 'SPU' || lpad(spu::VARCHAR, 5, '0') AS spu_id, name, category, "
        "series, (cost / 100)::DECIMAL(12, 2) AS unit_cost, "
        "(price / 100)::DECIMAL(12, 2) AS list_price, strftime(launch, '%Y-%m-%d') AS "
        "launch_date, status, 'SUP' || lpad(sup::VARCHAR, 4, '0') AS supplier_id, "
        "shelf AS shelf_life_days FROM {t}"
    )
    _run(con, t, sql, folder / "products.csv", "products.csv")
    del n


def write_suppliers(w, folder: Path) -> None:
    regions = ("华东", "华南", "华北", "西南", "海外")
    kinds = ("精细化工", "包装材料", "生物科技", "日化制造", "印务")
    tiers = ("strategic", "preferred", "approved")
    rows = []
    for k in range(len(w.sup_region)):
        b = int(w.sup_backup[k])
        rows.append(
            (
                f"SUP{k:04d}",
                f"{regions[w.sup_region[k]]}{kinds[w.sup_kind[k]]}{k:02d}有限公司",
                regions[w.sup_region[k]],
                tiers[w.sup_tier[k]],
                "true" if w.sup_cert[k] else "false",
                int(w.sup_terms[k]),
                f"SUP{b:04d}" if b >= 0 else "",
            )
        )
    write_csv_rows(folder / "suppliers.csv", HEADERS["suppliers.csv"], rows)


def write_inventory(w, con, folder: Path, i: int, sup: dict) -> None:
    nw, ns = w.on_hand.shape
    wh, sku = np.meshgrid(np.arange(nw), np.arange(ns), indexing="ij")
    t = pa.table(
        {
            "wh": dict_array(wh.ravel(), w.wh_ids),
            "sku": dict_array(sku.ravel(), w.sku_ids),
            "on_hand": w.on_hand.ravel(),
            "reserved": sup["reserved"].ravel(),
            "in_transit": sup["in_transit"].ravel(),
            "safety": w.safety.ravel(),
        }
    )
    sql = (
        f"SELECT '{w.date(i)}' AS snapshot_date, wh AS warehouse_id, sku AS sku_id, on_hand, "
        "reserved, in_transit, safety AS safety_stock FROM {t}"
    )
    _run(con, t, sql, folder / "inventory.csv", "inventory.csv")


def write_pos(w, con, folder: Path, rows: list[dict]) -> None:
    t = None
    if rows:
        cat = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        t = pa.table(
            {
                "seq": cat["seq"],
                "type": dict_array(cat["type"], ("purchase", "production")),
                "sup": cat["sup"],
                "sku": dict_array(cat["sku"], w.sku_ids),
                "ordered": ts_array(cat["ordered"]),
                "promised": ts_array(cat["promised"]),
                "received": ts_array(cat["received_at"]),
                "qty": cat["qty"],
                "got": cat["got"],
                "cost": cat["cost"],
                "status": dict_array(cat["status"], C.PO_STATUS),
                "upd": ts_array(cat["upd"]),
            }
        )
    sql = (
        f"SELECT 'PO' || lpad(seq::VARCHAR, 10, '0') AS po_id, type AS po_type, "
        f"'SUP' || lpad(sup::VARCHAR, 4, '0') AS supplier_id, sku AS sku_id, "
        f"strftime(ordered, {CSV_TS}) AS ordered_at, strftime(promised, '%Y-%m-%d') AS "
        f"promised_date, strftime(received, {CSV_TS}) AS received_at, qty AS qty_ordered, "
        f"got AS qty_received, (cost / 100)::DECIMAL(12, 2) AS unit_cost, status, "
        f"strftime(upd, {CSV_TS}) AS updated_at FROM {{t}}"
    )
    _run(con, t, sql, folder / "purchase_orders.csv", "purchase_orders.csv")


# --------------------------------------------------------------------------------- ads
def write_ads(w, folder: Path, i: int, ads: dict) -> int:
    """Returns spend in cents per platform file (for the truth)."""
    d = str(w.date(i))
    rows = ads["rows"]
    q = rows[0]
    qc = [
        (
            d,
            w.camp_names[c],
            w.ad_label[0][k],
            int(q["imps"][k]),
            int(q["clicks"][k]),
            f"{q['spend_c'][k] / 100:.2f}",
            int(q["claim_o"][k]),
            f"{q['claim_v'][k] / 100:.2f}",
        )
        for k, c in enumerate(q["camp"].tolist())
    ]
    write_csv_rows(folder / "qianchuan.csv", HEADERS["qianchuan.csv"], qc, bom=True)
    j = rows[1]
    xhs_posts = [k for k, pid in enumerate(w.post_ids) if pid.startswith("PX")][-50:]
    jg = []
    for k, c in enumerate(j["camp"].tolist()):
        note = w.post_ids[xhs_posts[(i + k) % len(xhs_posts)]] if xhs_posts and k % 2 == 0 else ""
        jg.append(
            (
                d,
                w.camp_names[c],
                w.ad_label[1][k],
                int(j["imps"][k]),
                int(j["clicks"][k]),
                f"{j['spend_c'][k] / 100:.2f}",
                int(j["eng"][k]),
                note,
            )
        )
    write_csv_rows(folder / "juguang.csv", HEADERS["juguang.csv"], jg)
    tx = rows[2]
    tc = [
        (
            d,
            w.camp_names[c],
            w.ad_label[2][k],
            int(tx["imps"][k]),
            int(tx["clicks"][k]),
            int(tx["spend_c"][k]),
        )
        for k, c in enumerate(tx["camp"].tolist())
    ]
    write_csv_rows(folder / "tencent_ads.csv", HEADERS["tencent_ads.csv"], tc, encoding="gbk")
    return 0


# ----------------------------------------------------------------------------- content
def write_posts(w, con, folder: Path, i: int, rows: dict | None) -> None:
    t = None
    if rows is not None and len(rows["post"]):
        t = pa.table(
            {
                "platform": dict_array(rows["platform"], C.CONTENT_PLATFORMS),
                "post": dict_array(rows["post"], w.post_ids),
                "koc": dict_array(rows["koc"], w.koc_ids),
                "ptype": dict_array(rows["ptype"], C.POST_TYPES),
                "pub": ts_array(rows["publish_t"]),
                "imps": rows["imps"],
                "views": rows["views"],
                "watch": pa.array(np.round(rows["watch"], 3), mask=np.isnan(rows["watch"])),
                "likes": rows["likes"],
                "comments": rows["comments"],
                "shares": rows["shares"],
                "saves": rows["saves"],
                "clicks": rows["clicks"],
                "pos": rows["pos"],
                "neg": rows["neg"],
            }
        )
    sql = (
        f"SELECT '{w.date(i)}' AS stat_date, platform, post AS post_id, koc AS koc_id, "
        f"ptype AS post_type, strftime(pub, {CSV_TS}) AS publish_time, imps AS impressions, "
        "views, watch::DECIMAL(4, 3) AS avg_watch_ratio, likes, comments, shares, saves, "
        "clicks AS link_clicks, pos AS positive_comments, neg AS negative_comments FROM {t}"
    )
    _run(con, t, sql, folder / "posts.csv", "posts.csv")


def write_roster(w, folder: Path, i: int) -> None:
    rows = []
    for k in range(len(w.koc_ids)):
        if w.koc_joined[k] > i:
            continue
        f = int(w.koc_followers0[k] * (1 + w.koc_growth[k]) ** max(i, 0))
        g = C.GEO[w.koc_geo[k]]
        rows.append(
            (
                w.koc_ids[k],
                C.CONTENT_PLATFORMS[w.koc_platform[k]],
                w.koc_nick[k],
                f,
                C.KOC_CATEGORIES[w.koc_cat[k]],
                g[1],
                ("long_term", "task", "affiliate")[w.koc_coop[k]],
                f"{w.koc_fee[k] / 100:.2f}",
                f"{w.koc_comm[k]:.3f}",
                str(w.date(int(w.koc_joined[k]))),
            )
        )
    write_csv_rows(folder / "roster.csv", HEADERS["roster.csv"], rows)


def write_listening(w, folder: Path, i: int, rng: np.random.Generator, content: dict) -> None:
    d = str(w.date(i))
    brands = (C.BRAND, *C.COMPETITORS)
    plats = ("douyin", "xiaohongshu", "weibo", "wechat")
    pw = np.array([1.0, 0.8, 0.5, 0.4])
    base = np.array([300.0, 420.0, 260.0, 180.0]) * w.V**0.7 * w.factor(i) ** 0.5
    imps = float(content["rows"]["imps"].sum()) if content["rows"] is not None else 0.0
    base[0] *= 1 + imps / (2e5 * w.V + 1)
    pos_share = np.array([0.56, 0.48, 0.5, 0.45])
    mentions, assoc = [], []
    kw_aff = np.random.default_rng([w.seed, 77]).uniform(0.02, 0.2, (4, len(C.BRAND_KEYWORDS)))
    kw_aff[0, [C.BRAND_KEYWORDS.index(k) for k in C.TARGET_KEYWORDS]] *= 1.8
    for p, pf in enumerate(plats):
        for b, br in enumerate(brands):
            m = int(rng.poisson(base[b] * pw[p]))
            pos = int(rng.binomial(m, pos_share[b]))
            neg = int(rng.binomial(m - pos, 0.3))
            si = int(m * 11 * rng.lognormal(0, 0.1))
            mentions.append((d, pf, br, m, pos, m - pos - neg, neg, si))
            for k, kw in enumerate(C.BRAND_KEYWORDS):
                assoc.append((d, pf, br, kw, int(rng.binomial(m, min(kw_aff[b, k], 1.0)))))
    write_csv_rows(folder / "brand_mentions.csv", HEADERS["brand_mentions.csv"], mentions)
    write_csv_rows(folder / "associations.csv", HEADERS["associations.csv"], assoc)


# --------------------------------------------------------------------------------- CRM
def write_touches(w, con, folder: Path, rep: dict, rng: np.random.Generator) -> None:
    t = pa.table(
        {
            "seq": rep["seq"],
            "cid": rep["person"],
            "camp": dict_array(rep["camp"], w.camp_names),
            "ch": dict_array(rep["ch"], C.CRM_CHANNELS),
            "sent": ts_array(rep["sent"]),
            "dlv": rep["delivered"].astype(np.int8),
            "opened": ts_array(rep["open_t"]),
            "clicked": ts_array(rep["click_t"]),
            "ctype": dict_array(rep["ctype"], C.CRM_CONTENT),
        }
    )
    o = np.lexsort((rep["seq"], rep["sent"]))
    t = with_dups(t.take(pa.array(o)), rng, 0.002)
    sql = (
        f"SELECT 'TCH' || lpad(seq::VARCHAR, 12, '0') AS touch_id, {CID.format('cid')} AS "
        f"customer_id, camp AS campaign_id, ch AS channel, strftime(sent, {CSV_TS}) AS "
        f"sent_at, dlv AS delivered, strftime(opened, {CSV_TS}) AS opened_at, "
        f"strftime(clicked, {CSV_TS}) AS clicked_at, ctype AS content_type FROM {{t}}"
    )
    _run(con, t, sql, folder / "touches.csv", "touches.csv")


def write_referrals(w, con, folder: Path, ref: dict) -> None:
    n = len(ref["t"])
    seq = np.arange(w.referral_seq, w.referral_seq + n)
    w.referral_seq += n
    t = pa.table(
        {
            "seq": seq,
            "inviter": ref["inviter"],
            "anon": pa.array(ref["anon"]),
            "invitee": int_array(ref["invitee"], ref["invitee"] < 0),
            "act": dict_array(ref["activity"], C.REFERRAL_ACTIVITIES),
            "ts": ts_array(ref["t"]),
            "pts": np.where(ref["invitee"] >= 0, 100, 0),
        }
    )
    sql = (
        f"SELECT 'RF' || lpad(seq::VARCHAR, 10, '0') AS referral_id, "
        f"{CID.format('inviter')} AS inviter_customer_id, printf('%016x', anon) AS "
        f"invitee_anonymous_id, {CID.format('invitee')} AS invitee_customer_id, "
        f"act AS activity, strftime(ts, {CSV_TS}) AS invited_at, pts AS reward_points "
        f"FROM {{t}}"
    )
    _run(con, t, sql, folder / "referrals.csv", "referrals.csv")


def write_points(w, con, folder: Path, led: dict) -> None:
    n = len(led["t"])
    o = np.lexsort((led["person"], led["t"]))
    seq = np.arange(w.ledger_seq, w.ledger_seq + n)
    w.ledger_seq += n
    t = pa.table(
        {
            "seq": seq,
            "cid": led["person"][o],
            "ts": ts_array(led["t"][o]),
            "delta": led["delta"][o],
            "reason": dict_array(led["reason"][o], C.LOYALTY_REASONS),
        }
    )
    sql = (
        f"SELECT 'L' || lpad(seq::VARCHAR, 11, '0') AS ledger_id, {CID.format('cid')} AS "
        f"customer_id, strftime(ts, {CSV_TS}) AS occurred_at, delta AS points_delta, reason "
        f"FROM {{t}}"
    )
    _run(con, t, sql, folder / "points.csv", "points.csv")


def write_responses(w, con, folder: Path, r: dict) -> None:
    n = len(r["t"])
    seq = np.arange(w.response_seq, w.response_seq + n)
    w.response_seq += n
    t = pa.table(
        {
            "seq": seq,
            "cid": int_array(r["person"], r["person"] < 0),
            "ts": ts_array(r["t"]),
            "survey": dict_array(r["survey"], ("nps", "brand_tracker")),
            "nps": int_array(r["nps"], r["nps"] < 0),
            "un": int_array(r["un"], r["un"] < 0),
            "aid": int_array(r["aid"], r["aid"] < 0),
            "rat": int_array(r["rat"], r["rat"] < 0),
            "assoc": pa.array(r["assoc"]),
        }
    )
    sql = (
        f"SELECT 'R' || lpad(seq::VARCHAR, 10, '0') AS response_id, {CID.format('cid')} AS "
        f"customer_id, strftime(ts, {CSV_TS}) AS responded_at, survey, nps AS nps_score, "
        f"un AS aware_unaided, aid AS aware_aided, rat AS rating_reputation, "
        f"assoc AS associations FROM {{t}}"
    )
    _run(con, t, sql, folder / "responses.csv", "responses.csv")


def write_customers(w, con, folder: Path, persons: np.ndarray, upd: np.ndarray) -> None:
    P = w.P
    p = persons
    dele = P.deleted[p]
    h1 = mix64(p, 31)
    t = pa.table(
        {
            "cid": p,
            "upd": ts_array(upd),
            "phone": pa.array((h1 % np.uint64(10**9)).astype(np.int64), mask=dele),
            "u1": pa.array(mix64(p, 32), mask=dele),
            "u2": pa.array(mix64(p, 33) >> np.uint64(24)),
            "gender": dict_array(P.gender[p], ("female", "male", "unknown")),
            "byear": P.byear[p].astype(np.int64),
            "province": dict_array(P.geo[p], [g[0] for g in C.GEO]),
            "city": dict_array(P.geo[p], [g[1] for g in C.GEO]),
            "reg": ts_array(P.reg_t[p]),
            "regch": dict_array(P.reg_ch[p], C.REGISTER_CHANNELS),
            "tier": dict_array(P.tier[p], C.TIERS),
            "wecom": P.wecom[p],
            "optout": P.optout[p],
            "deleted": dele,
        }
    )
    sql = (
        f"SELECT {CID.format('cid')} AS customer_id, strftime(upd, {JSON_TS}) AS updated_at, "
        "'1' || (['3','5','7','8','9'])[(phone % 5)::INTEGER + 1] || lpad(phone::VARCHAR, 9, "
        "'0') AS phone, 'oX' || printf('%016x', u1) || printf('%010x', u2) AS wechat_unionid, "
        f"gender, byear AS birth_year, province, city, strftime(reg, {JSON_TS}) AS "
        "registered_at, regch AS register_channel, tier AS member_tier, wecom AS wecom_added, "
        "optout AS opt_out_marketing, deleted FROM {t}"
    )
    sql = sql.replace(
        "printf('%016x', u1) || printf('%010x', u2)",
        "printf('%016x', u1) || CASE WHEN u1 IS NULL THEN NULL ELSE printf('%010x', u2) END",
    )
    _run(con, t, sql, folder / "customers.jsonl", "customers.jsonl", kind="jsonl")


# ------------------------------------------------------------------------------ events
EVENTS_SQL = f"""
SELECT printf('%016x', eid) AS event_id, strftime(ts, {JSON_TS}) AS event_time, etype AS event_type,
  printf('%016x', anon) AS anonymous_id, {CID.format("uid")} AS user_id,
  printf('%016x', sid) AS session_id, platform, src AS utm_source, med AS utm_medium,
  camp AS utm_campaign, post AS utm_content, {CID.format("ref")} AS referrer_customer_id,
  url || path || CASE WHEN sku IS NULL THEN '' ELSE '?sku=' || sku END AS page_url,
  sku AS sku_id, prefix || lpad(oseq::VARCHAR, 12, '0') AS order_id, province, city,
  os AS device_os, exp AS experiment_id, var AS variant
FROM {{t}}
"""


def events_chunk(w, d: dict, idx: np.ndarray, rng: np.random.Generator) -> tuple[pa.Table, dict]:
    """Arrow table of the day's events at positions idx, plus the arrays the truth needs."""
    ev_s = d["ev_s"][idx]
    etype = d["etype"][idx]
    n = len(idx)
    s = d["s"]
    kind = s["kind"][ev_s]
    src_code = np.where(kind > 0, kind, -1)
    sku = np.full(n, -1, np.int32)
    m = (etype == 1) | (etype == 4)
    sku[m] = rng.choice(len(w.sku_ids), int(m.sum()), p=w.sku_p_today)
    anon = d["anon"][ev_s]
    plat = s["platform"][ev_s]
    h = mix64(anon, 60) % np.uint64(100)
    os_code = np.where(
        plat == 3, np.where(h < 70, 3, 4), np.where(h < 45, 0, np.where(h < 92, 1, 2))
    )
    del h
    oseq = d["ev_order"][ev_s]
    has_o = (oseq >= 0) & ((etype == 5) | (etype == 6))
    variants = ("control", "b", "c")
    uid = d["ev_uid"][idx]
    ref = s["referrer"][ev_s]
    geo = s["geo"][ev_s]
    ev_t = d["ev_t"][idx]
    eid = mix64((np.int64(d["day"]) << np.int64(34)) + idx.astype(np.int64), 13)
    t = pa.table(
        {
            "eid": pa.array(eid),
            "ts": ts_array(ev_t),
            "etype": dict_array(etype, C.EVENT_TYPES),
            "anon": pa.array(anon),
            "uid": int_array(uid, uid < 0),
            "sid": pa.array(mix64(d["seq"][ev_s], 5)),
            "platform": dict_array(plat, C.PLATFORMS),
            "src": dict_array(src_code, [x[0] or "" for x in C.TOUCHES]),
            "med": dict_array(src_code, [x[1] or "" for x in C.TOUCHES]),
            "camp": dict_array(np.where(kind > 0, s["camp"][ev_s], -1), w.camp_names),
            "post": dict_array(s["post"][ev_s], w.post_ids or [""]),
            "ref": int_array(ref, ref < 0),
            "url": dict_array(plat, C.PLATFORM_URL),
            "path": dict_array(etype, C.EVENT_PATHS),
            "sku": dict_array(sku, w.sku_ids),
            "prefix": dict_array(np.where(has_o, d["ev_store"][ev_s], -1), C.STORE_PREFIX),
            "oseq": int_array(oseq, ~has_o),
            "province": dict_array(geo, [g[0] for g in C.GEO]),
            "city": dict_array(geo, [g[1] for g in C.GEO]),
            "os": dict_array(os_code, C.DEVICE_OS),
            "exp": dict_array(d["exp"][ev_s], [e[0] for e in C.EXPERIMENTS]),
            "var": dict_array(d["var"][ev_s], variants),
        }
    )
    info = {"t": ev_t, "anon": anon, "cls": touch_cls(kind)}
    return t, info


def write_events(
    w, con, folder: Path, i: int, d: dict, rng: np.random.Generator, pool: GzipPool
) -> int:
    """Writes the day's events (minus those that will arrive late, plus earlier days' late
    arrivals), with SDK retry duplicates; returns the number of lines written."""
    s = d["s"]
    S = len(s["start"])
    E = len(d["ev_t"])
    d["day"] = i
    # Late arrival is per session (a device's upload batch failed), capped to the window.
    late_days = np.where(~s["bounce"] & (rng.random(S) < 0.004), rng.integers(1, 4, S), 0)
    late_days = np.minimum(late_days, w.days - 1 - i).astype(np.int8)
    ev_late = late_days[d["ev_s"]]
    part_rows = w.scale.events_part_rows
    arriving = w.late.pop(i, [])
    n_arr = sum(t.num_rows for t, _ in arriving)
    # Late arrivals from earlier days ride in the last part when everything fits one part;
    # otherwise they get parts of their own, so no part outgrows `part_rows` (memory bound).
    single = E + n_arr <= part_rows
    main_parts = 1 if single else max(1, -(-E // part_rows))
    late_parts = 0 if single or not n_arr else -(-n_arr // part_rows)
    n_parts = main_parts + late_parts
    names = (
        ["events.jsonl.gz"]
        if n_parts == 1
        else [f"events-{k + 1:04d}.jsonl.gz" for k in range(n_parts)]
    )
    bounds = np.linspace(0, E, main_parts + 1).astype(np.int64)
    late_idx = np.nonzero(ev_late)[0]
    if len(late_idx):
        t, info = events_chunk(w, d, late_idx, rng)
        lm = ev_late[late_idx]
        for dd in np.unique(lm).tolist():
            sel = np.nonzero(lm == dd)[0]
            w.late.setdefault(i + dd, []).append(
                (t.take(pa.array(sel)), {x: v[sel] for x, v in info.items()})
            )
        del t, info
    written = 0

    def write_part(k: int, t: pa.Table) -> None:
        con.register("t", t)
        write_jsonl_gz(con, EVENTS_SQL.replace("{t}", "t"), folder / names[k], 1, pool)
        con.unregister("t")

    for k in range(main_parts):
        a, b = int(bounds[k]), int(bounds[k + 1])
        keep = a + np.nonzero(ev_late[a:b] == 0)[0]
        # SDK retries: a duplicate right after its original, chosen before building the table
        # so the part is materialised once.
        rep = 1 + (rng.random(len(keep)) < 0.003)
        t, info = events_chunk(w, d, np.repeat(keep, rep), rng)
        first = np.r_[True, np.repeat(keep, rep)[1:] != np.repeat(keep, rep)[:-1]]
        w.truth_events({x: v[first] for x, v in info.items()})
        del info
        if single and arriving:
            for _, inf in arriving:
                w.truth_events(inf)
            t = pa.concat_tables([t, *[x for x, _ in arriving]], promote_options="permissive")
            arriving = []
        written += t.num_rows
        write_part(k, t)
        del t
    if arriving:
        for _, inf in arriving:
            w.truth_events(inf)
        late = pa.concat_tables([x for x, _ in arriving], promote_options="permissive")
        arriving = []
        for j in range(late_parts):
            part = late.slice(j * part_rows, part_rows)
            written += part.num_rows
            write_part(main_parts + j, part)
        del late
    pool.join()
    return written


def day_bounds(w, i: int) -> tuple[int, int]:
    t0 = w.t_start + i * DAY
    return t0, t0 + DAY


__all__ = ["SOURCES", "HEADERS", "NEVER"]
