"""Orders (with their whole planned lifecycle), shipments, inventory and purchase orders."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from . import config as C
from .io import DAY, NEVER, dict_array, int_array, mix64, ts_array

COUPONS = (
    ("MJ199-20", 19_900, 2_000),
    ("MJ299-40", 29_900, 4_000),
    ("NEW10", 0, 1_000),
    ("VIP50", 49_900, 5_000),
)

# Order lifecycle columns in chronological order (a later one, when it happens, wins).
LIFE = ("created", "paid", "shipped", "delivered", "cancel", "refund_t")


def sku_weights(w, i: int) -> np.ndarray:
    live = (w.sku_launch <= i) & ~w.sku_disc
    p = np.where(live, w.sku_pop, 0.0)
    return p / p.sum()


def make_orders(
    w,
    rng: np.random.Generator,
    i: int,
    store: np.ndarray,
    person: np.ndarray,
    has_cid: np.ndarray,
    anon: np.ndarray,
    created: np.ndarray,
    paid: np.ndarray,
    utm_k: np.ndarray,
    utm_c: np.ndarray,
    ch: np.ndarray,
    cls: np.ndarray,
    geo: np.ndarray,
) -> np.ndarray:
    """Creates orders and plans their lifecycle; returns their global sequence numbers.

    `paid` is NEVER for an order that will be cancelled before payment.
    """
    n = len(store)
    if n == 0:
        return np.zeros(0, np.int64)
    seq = np.arange(w.order_seq, w.order_seq + n, dtype=np.int64)
    w.order_seq += n

    # Items.
    n_items = 1 + np.minimum(rng.poisson(0.45, n), 3)
    off = np.zeros(n + 1, np.int64)
    np.cumsum(n_items, out=off[1:])
    m = int(off[-1])
    it_order = np.repeat(np.arange(n), n_items)
    it_sku = rng.choice(len(w.sku_ids), m, p=sku_weights(w, i))
    r = rng.random(m)
    it_qty = 1 + (r < 0.18) + (r < 0.04)
    it_price = w.sku_price[it_sku]
    gross = it_qty * it_price
    it_disc = np.round(gross * w.promo_discount(i)).astype(np.int64)
    sub = np.bincount(it_order, weights=gross - it_disc, minlength=n).astype(np.int64)
    line_disc = np.bincount(it_order, weights=it_disc, minlength=n).astype(np.int64)
    gross_o = np.bincount(it_order, weights=gross, minlength=n).astype(np.int64)
    coupon = np.where(
        rng.random(n) < (0.5 if w.promo_discount(i) else 0.25), rng.integers(0, len(COUPONS), n), -1
    )
    thr = np.array([c[1] for c in COUPONS])
    val = np.array([c[2] for c in COUPONS])
    coupon = np.where((coupon >= 0) & (sub >= thr[np.maximum(coupon, 0)]), coupon, -1)
    cval = np.where(coupon >= 0, val[np.maximum(coupon, 0)], 0)
    ship = np.where((sub - cval < 9_900) & (store != 2), 800, 0)
    disc = line_disc + cval
    paid_c = gross_o - disc + ship

    # Lifecycle: cancellation only before payment; refunds only after it.
    is_paid = paid < NEVER
    cancel = np.where(is_paid, NEVER, created + rng.integers(1800, 26 * 3600, n))
    r = rng.random(n)
    pre_refund = is_paid & (r < 0.02)
    gap = rng.lognormal(np.log(16 * 3600), 0.6, n) * np.where(store == 1, 0.6, 1.0)
    shipped = np.where(is_paid & ~pre_refund, paid + gap.astype(np.int64) + 600, NEVER)
    exception = (shipped < NEVER) & (rng.random(n) < 0.015)
    delivered = np.where(
        shipped < NEVER,
        shipped + rng.integers(DAY, 4 * DAY, n) + exception * rng.integers(2 * DAY, 5 * DAY, n),
        NEVER,
    )
    r2 = rng.random(n)
    full = (shipped < NEVER) & (r2 < 0.025)
    part = (shipped < NEVER) & (r2 >= 0.025) & (r2 < 0.065)
    refund_t = np.full(n, NEVER, np.int64)
    refund_t[pre_refund] = paid[pre_refund] + rng.integers(1800, 36_000, pre_refund.sum())
    refund_t[full] = delivered[full] + rng.integers(DAY, 7 * DAY, full.sum())
    refund_t[part] = delivered[part] + rng.integers(DAY // 2, 5 * DAY, part.sum())
    refund_c = np.where(pre_refund | full, paid_c, 0)
    refund_c = np.where(part, np.round(paid_c * rng.uniform(0.2, 0.6, n)), refund_c)
    refund_kind = np.where(part, 6, np.where(pre_refund | full, 5, 0)).astype(np.int8)

    region = w.geo_region[geo]
    wh = region % w.n_wh
    if w.n_wh > 4:
        extra = (region + 4 < w.n_wh) & (rng.random(n) < 0.3)
        wh = np.where(extra, region + 4, wh)
    carrier = np.where(store == 1, 1, rng.choice([0, 2, 3, 4], n, p=[0.35, 0.3, 0.25, 0.1]))
    ship_created = np.where(
        shipped < NEVER,
        paid + ((shipped - paid) * rng.uniform(0.1, 0.5, n)).astype(np.int64),
        NEVER,
    )
    promised_days = np.where((carrier <= 1), 2, 3)
    end = np.max(
        np.stack(
            [
                created,
                np.where(paid < NEVER, paid, 0),
                np.where(shipped < NEVER, shipped, 0),
                np.where(delivered < NEVER, delivered, 0),
                np.where(cancel < NEVER, cancel, 0),
                np.where(refund_t < NEVER, refund_t, 0),
            ]
        ),
        axis=0,
    )
    w.batches.append(
        {
            "seq": seq,
            "store": store.astype(np.int8),
            "person": person.astype(np.int64),
            "has_cid": has_cid,
            "anon": anon.astype(np.uint64),
            "utm_k": utm_k.astype(np.int16),
            "utm_c": utm_c.astype(np.int32),
            "created": created,
            "paid": paid,
            "shipped": shipped,
            "delivered": delivered,
            "cancel": cancel,
            "refund_t": refund_t,
            "refund_c": refund_c.astype(np.int64),
            "refund_kind": refund_kind,
            "paid_c": paid_c,
            "disc_c": disc,
            "ship_c": ship,
            "coupon": coupon.astype(np.int8),
            "geo": geo.astype(np.int16),
            "wh": wh.astype(np.int8),
            "carrier": carrier.astype(np.int8),
            "exception": exception,
            "ship_created": ship_created,
            "promised_days": promised_days,
            "ch": ch.astype(np.int8),
            "cls": cls.astype(np.int8),
            "off": off,
            "it_sku": it_sku.astype(np.int32),
            "it_qty": it_qty.astype(np.int32),
            "it_price": it_price,
            "it_disc": it_disc,
            "ld_paid": np.full(n, NEVER, np.int64),
            "ld_ref": np.zeros(n, np.int64),
            "end": int(end.max()),
        }
    )
    return seq


def _take(b: dict, idx: np.ndarray) -> dict:
    return {
        k: v[idx] for k, v in b.items() if isinstance(v, np.ndarray) and len(v) == len(b["seq"])
    }


def _items(b: dict, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and item positions (into the batch's item arrays) of the selected orders."""
    lens = b["off"][idx + 1] - b["off"][idx]
    off = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    pos = np.repeat(b["off"][idx] - off[:-1], lens) + np.arange(off[-1])
    return off, pos


def order_state(s: dict, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """Status code and updated_at of each order as of the end of the day ending at t1."""
    status = np.zeros(len(s["seq"]), np.int8)
    upd = s["created"].copy()
    for col, code in (("paid", 1), ("shipped", 2), ("delivered", 3), ("cancel", 4)):
        m = s[col] < t1
        status[m] = code
        upd[m] = s[col][m]
    m = s["refund_t"] < t1
    status[m] = s["refund_kind"][m]
    upd[m] = s["refund_t"][m]
    return status, upd


def emit_orders(w, i: int, rng: np.random.Generator, loaded: bool) -> dict:
    """Collects today's order snapshots, shipment changes and stock movements from all batches.

    `loaded` is False when the day's orders file will be quarantined (a fault): the truth then
    does not see these snapshots, as a correct warehouse would not.
    """
    t0 = w.t_start + i * DAY
    t1 = t0 + DAY
    order_parts: list[dict] = []
    ship_parts: list[dict] = []
    shipped_units = np.zeros((w.n_wh, len(w.sku_ids)), np.int64)
    reserved = np.zeros((w.n_wh, len(w.sku_ids)), np.int64)
    delivered_today: list[tuple[np.ndarray, np.ndarray]] = []
    paid_today: list[tuple[np.ndarray, ...]] = []
    for b in w.batches:
        any_today = np.zeros(len(b["seq"]), bool)
        for col in LIFE:
            any_today |= (b[col] >= t0) & (b[col] < t1)
        idx = np.nonzero(any_today)[0]
        if len(idx):
            s = _take(b, idx)
            status, upd = order_state(s, t1)
            paid_now = s["paid"] < t1
            refund_now = np.where(s["refund_t"] < t1, s["refund_c"], 0)
            off, pos = _items(b, idx)
            order_parts.append(
                {
                    **s,
                    "status": status,
                    "upd": upd,
                    "paid_now": paid_now,
                    "refund_now": refund_now,
                    "it_off": off,
                    "it_pos": pos,
                    "batch": b,
                }
            )
            if loaded:
                b["ld_paid"][idx] = np.where(paid_now, s["paid"], b["ld_paid"][idx])
                b["ld_ref"][idx] = refund_now
                cm = paid_now & s["has_cid"] & (s["person"] >= 0)
                np.minimum.at(w.P.first_paid, s["person"][cm], s["paid"][cm])
        # Shipments: created, in transit, exception, delivered, returned.
        exc_t = np.where(b["exception"], b["shipped"] + DAY, NEVER)
        ret_t = np.where(
            (b["refund_kind"] == 5) & (b["delivered"] < b["refund_t"]), b["refund_t"], NEVER
        )
        st = (b["ship_created"], b["shipped"], exc_t, b["delivered"], ret_t)
        sm = np.zeros(len(b["seq"]), bool)
        for col in st:
            sm |= (col >= t0) & (col < t1)
        sidx = np.nonzero(sm)[0]
        if len(sidx):
            status = np.zeros(len(sidx), np.int8)
            upd = b["ship_created"][sidx].copy()
            for code, col in ((1, b["shipped"]), (3, exc_t), (2, b["delivered"]), (4, ret_t)):
                m = col[sidx] < t1
                status[m] = code
                upd[m] = col[sidx][m]
            ship_parts.append(
                {
                    "seq": b["seq"][sidx],
                    "store": b["store"][sidx],
                    "wh": b["wh"][sidx],
                    "carrier": b["carrier"][sidx],
                    "created": b["ship_created"][sidx],
                    "shipped": np.where(b["shipped"][sidx] < t1, b["shipped"][sidx], NEVER),
                    "promised": (b["paid"][sidx] // DAY + b["promised_days"][sidx]) * DAY,
                    "delivered": np.where(b["delivered"][sidx] < t1, b["delivered"][sidx], NEVER),
                    "status": status,
                    "upd": upd,
                }
            )
        # Stock: units leave on shipment; paid-but-unshipped units are reserved.
        sh = np.nonzero((b["shipped"] >= t0) & (b["shipped"] < t1))[0]
        if len(sh):
            _, pos = _items(b, sh)
            wh = np.repeat(b["wh"][sh], b["off"][sh + 1] - b["off"][sh])
            np.add.at(shipped_units, (wh, b["it_sku"][pos]), b["it_qty"][pos])
        res = np.nonzero((b["paid"] < t1) & (b["shipped"] >= t1) & (b["refund_t"] >= t1))[0]
        if len(res):
            _, pos = _items(b, res)
            wh = np.repeat(b["wh"][res], b["off"][res + 1] - b["off"][res])
            np.add.at(reserved, (wh, b["it_sku"][pos]), b["it_qty"][pos])
        pt = np.nonzero((b["paid"] >= t0) & (b["paid"] < t1))[0]
        if len(pt):
            paid_today.append((b["person"][pt], b["paid"][pt], b["paid_c"][pt], b["has_cid"][pt]))
        dl = np.nonzero((b["delivered"] >= t0) & (b["delivered"] < t1))[0]
        if len(dl):
            delivered_today.append((b["person"][dl], b["delivered"][dl]))
    return {
        "orders": order_parts,
        "shipments": ship_parts,
        "shipped_units": shipped_units,
        "reserved": reserved,
        "delivered": delivered_today,
        "paid": paid_today,
    }


def finalize_batches(w, t_now: int, force: bool = False) -> None:
    """Moves finished orders into the truth (their latest loaded snapshot can no longer change)."""
    keep = []
    for b in w.batches:
        if not force and b["end"] >= t_now:
            keep.append(b)
            continue
        m = b["ld_paid"] < NEVER
        # customers' paid orders for customers_truth (cohorts, repeat customers)
        w.truth_orders.setdefault("customer_paid", []).append(
            (b["person"][m], b["has_cid"][m], b["ld_paid"][m], b["paid_c"][m] - b["ld_ref"][m])
        )
        day = (b["ld_paid"][m] - w.t_start) // DAY
        inwin = (day >= 0) & (day < w.days)
        day = day[inwin]
        tr = w.truth_orders
        np.add.at(tr["orders"], day, 1)
        np.add.at(tr["gmv"], day, b["paid_c"][m][inwin])
        np.add.at(tr["refund"], day, b["ld_ref"][m][inwin])
        seq = b["seq"][m][inwin]
        store = b["store"][m][inwin]
        ch = b["ch"][m][inwin]
        cls = b["cls"][m][inwin]
        paid_c = b["paid_c"][m][inwin]
        for s, st, c, k, g in zip(
            seq.tolist(), store.tolist(), ch.tolist(), cls.tolist(), paid_c.tolist(), strict=True
        ):
            tr["by_order"][f"{C.STORE_PREFIX[st]}{s:012d}"] = (
                C.CHANNELS[c],
                C.TRAFFIC_CLASSES[k],
                g,
                true_path(w, w.truth_paths.get(s)),
            )
        for s in b["seq"].tolist():  # a finished batch's paths are in the truth now
            w.truth_paths.pop(s, None)
    w.batches = keep


def true_path(w, path: np.ndarray | None) -> list[dict] | None:
    """An owned-store order's touches as _truth.json lists them (None for a marketplace
    order, which has no touch path)."""
    if path is None:
        return None
    out = []
    for t, kind, camp, post in path.tolist():
        touch = C.TOUCHES[kind]
        out.append(
            {
                "at": (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(t))).isoformat(),
                "channel": touch[2],
                "traffic_class": touch[3],
                "utm_source": touch[0],
                "utm_medium": touch[1],
                "campaign_id": w.camp_names[camp] if camp >= 0 else None,
                "post_id": w.post_ids[post] if post >= 0 else None,
            }
        )
    return out


# ----------------------------------------------------------------------------- arrow tables
def orders_table(w, parts: list[dict]) -> pa.Table | None:
    if not parts:
        return None
    cat = {
        k: np.concatenate([p[k] for p in parts])
        for k in (
            "seq",
            "store",
            "person",
            "has_cid",
            "anon",
            "utm_k",
            "utm_c",
            "created",
            "paid",
            "status",
            "upd",
            "paid_now",
            "refund_now",
            "paid_c",
            "disc_c",
            "ship_c",
            "coupon",
            "geo",
        )
    }
    # Items: list<struct> built from per-part offsets.
    offs, skus, qtys, prices, discs = [], [], [], [], []
    base = 0
    for p in parts:
        b = p["batch"]
        offs.append(p["it_off"][:-1] + base)
        base += int(p["it_off"][-1])
        skus.append(b["it_sku"][p["it_pos"]])
        qtys.append(b["it_qty"][p["it_pos"]])
        prices.append(b["it_price"][p["it_pos"]])
        discs.append(b["it_disc"][p["it_pos"]])
    off = np.concatenate([*offs, [base]]).astype(np.int32)
    items = pa.StructArray.from_arrays(
        [
            pa.array(w.sku_id_arr[np.concatenate(skus)]),
            pa.array(np.concatenate(qtys)),
            pa.array(np.concatenate(prices)),
            pa.array(np.concatenate(discs)),
        ],
        names=["sku_id", "qty", "unit_price", "discount"],
    )
    items = pa.ListArray.from_arrays(pa.array(off), items)
    paid_now = cat["paid_now"]
    owned = cat["store"] >= 4
    cid_null = ~cat["has_cid"] | (cat["person"] < 0)
    utm_k = np.where(owned & (cat["utm_k"] > 0), cat["utm_k"], -1)
    return pa.table(
        {
            "seq": cat["seq"],
            "store": dict_array(cat["store"], C.STORES),
            "prefix": dict_array(cat["store"], C.STORE_PREFIX),
            "cid": int_array(cat["person"], cid_null),
            "bref": pa.array(mix64(cat["person"] * 8 + cat["store"], 21), mask=owned),
            "bref2": pa.array(mix64(cat["person"] * 8 + cat["store"], 22), mask=owned),
            "anon": pa.array(cat["anon"], mask=~owned),
            "created": ts_array(cat["created"]),
            "paid": ts_array(np.where(paid_now, cat["paid"], NEVER)),
            "upd": ts_array(cat["upd"]),
            "status": dict_array(cat["status"], C.ORDER_STATUS),
            "items": items,
            "ship_c": cat["ship_c"],
            "disc_c": cat["disc_c"],
            "paid_c": np.where(paid_now, cat["paid_c"], 0),
            "refund_c": cat["refund_now"],
            "coupon": dict_array(cat["coupon"], [c[0] for c in COUPONS]),
            "province": dict_array(cat["geo"], [g[0] for g in C.GEO]),
            "city": dict_array(cat["geo"], [g[1] for g in C.GEO]),
            "utm_source": dict_array(np.where(utm_k >= 0, utm_k, -1), [t[0] for t in C.TOUCHES]),
            "utm_medium": dict_array(np.where(utm_k >= 0, utm_k, -1), [t[1] for t in C.TOUCHES]),
            "utm_campaign": dict_array(np.where(utm_k > 0, cat["utm_c"], -1), w.camp_names),
        }
    )


ORDERS_SQL = """
SELECT prefix || lpad(seq::VARCHAR, 12, '0') AS order_id, store,
  'C' || lpad(cid::VARCHAR, 9, '0') AS customer_id,
  printf('%016x%016x', bref, bref2) AS buyer_ref, printf('%016x', anon) AS anonymous_id,
  strftime(created, '%Y-%m-%dT%H:%M:%S+08:00') AS created_at,
  strftime(paid, '%Y-%m-%dT%H:%M:%S+08:00') AS paid_at,
  strftime(upd, '%Y-%m-%dT%H:%M:%S+08:00') AS updated_at, status,
  list_transform(items, lambda x: {'sku_id': x.sku_id, 'qty': x.qty,
     'unit_price': (x.unit_price / 100)::DECIMAL(12, 2),
     'discount': (x.discount / 100)::DECIMAL(12, 2)}) AS items,
  (ship_c / 100)::DECIMAL(12, 2) AS shipping_fee, (disc_c / 100)::DECIMAL(12, 2) AS discount_total,
  (paid_c / 100)::DECIMAL(12, 2) AS paid_amount, (refund_c / 100)::DECIMAL(12, 2) AS refund_amount,
  coupon AS coupon_code, province, city,
  CASE WHEN store IN ('wechat_miniprogram', 'own_site') THEN utm_source END AS utm_source,
  CASE WHEN store IN ('wechat_miniprogram', 'own_site') THEN utm_medium END AS utm_medium,
  utm_campaign
FROM {t}
"""

SHIPMENTS_SQL = """
SELECT 'SP' || lpad(seq::VARCHAR, 12, '0') AS shipment_id,
  prefix || lpad(seq::VARCHAR, 12, '0') AS order_id, warehouse_id, carrier,
  strftime(created, '%Y-%m-%d %H:%M:%S') AS created_at,
  strftime(shipped, '%Y-%m-%d %H:%M:%S') AS shipped_at,
  strftime(promised, '%Y-%m-%d') AS promised_delivery_date,
  strftime(delivered, '%Y-%m-%d %H:%M:%S') AS delivered_at, status,
  strftime(upd, '%Y-%m-%d %H:%M:%S') AS updated_at
FROM {t}
"""


def shipments_table(w, parts: list[dict]) -> pa.Table | None:
    if not parts:
        return None
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return pa.table(
        {
            "seq": cat["seq"],
            "prefix": dict_array(cat["store"], C.STORE_PREFIX),
            "warehouse_id": dict_array(cat["wh"], w.wh_ids),
            "carrier": dict_array(cat["carrier"], C.CARRIERS),
            "created": ts_array(cat["created"]),
            "shipped": ts_array(cat["shipped"]),
            "promised": ts_array(cat["promised"]),
            "delivered": ts_array(cat["delivered"]),
            "status": dict_array(cat["status"], C.SHIPMENT_STATUS),
            "upd": ts_array(cat["upd"]),
        }
    )


# ------------------------------------------------------------------------ stock and supply
# The one clearly unreliable supplier the simulation injects (named in _truth.json): late on
# most orders and by much more, often short on the last delivery, and a small approved
# supplier without certification or a backup, as such suppliers tend to be.
UNRELIABLE_LATE_P = 0.9
UNRELIABLE_EXTRA_DELAY_DAYS = (7, 16)  # on top of the usual 1-10 days when late
UNRELIABLE_SHORT_P = 0.5  # share of its orders that close short of the quantity ordered
UNRELIABLE_SHORT_FILL = (0.6, 0.9)


def pick_unreliable_supplier(w) -> None:
    """The supplier of the most SKUs (the lowest id on a tie) becomes the unreliable one: no
    random draw, so no other phase's stream moves."""
    u = int(np.argmax(np.bincount(w.sku_supplier, minlength=len(w.sup_late_p))))
    w.sup_unreliable = u
    w.sup_late_p[u] = UNRELIABLE_LATE_P
    w.sup_tier[u] = 2  # approved
    w.sup_cert[u] = False
    w.sup_backup[u] = -1


def init_supply(w) -> None:
    pick_unreliable_supplier(w)
    w.stockouts = []  # (day index, warehouse index, sku index) of every end-of-day stock-out
    rng = w.rng(9, -1)
    units_per_day = 1_000 * w.V * 1.45 * 1.22
    share = w.sku_pop / w.sku_pop.sum()
    reg = np.bincount(w.geo_region, weights=w.geo_p, minlength=4)
    wh_share = np.zeros(w.n_wh)
    for r in range(4):
        wh_share[r % w.n_wh] += reg[r]
    wh_share /= wh_share.sum()
    w.demand = np.outer(wh_share, share) * units_per_day  # expected units/day per (wh, sku)
    w.on_hand = np.round(w.demand * rng.uniform(20, 60, w.demand.shape)).astype(np.int64)
    w.on_hand[:, w.sku_launch > 0] = 0
    w.safety = np.ceil(w.demand * 7).astype(np.int64)
    w.po_batches = []
    # Purchase orders already in flight when the window opens.
    wh, sku = np.nonzero(rng.random(w.demand.shape) < 0.25)
    if len(wh):
        sup = w.sku_supplier[sku]
        lead = w.sup_lead[sup]
        ordered = (
            w.t_start - rng.integers(1, lead + 1) * DAY + rng.integers(32_400, 64_800, len(wh))
        )
        _new_pos(w, rng, wh, sku, ordered)


def _new_pos(
    w, rng: np.random.Generator, wh: np.ndarray, sku: np.ndarray, ordered: np.ndarray
) -> None:
    n = len(wh)
    sup = w.sku_supplier[sku].copy()
    backup = w.sup_backup[sup]
    use_b = (backup >= 0) & (rng.random(n) < 0.1)
    sup[use_b] = backup[use_b]
    lead = w.sup_lead[sup]
    late = rng.random(n) < w.sup_late_p[sup]
    actual = lead + np.where(late, rng.integers(1, 11, n), rng.integers(-2, 1, n))
    qty = np.maximum(np.round(w.demand[wh, sku] * 30 / 50) * 50, 50).astype(np.int64)
    partial = rng.random(n) < 0.15
    cancel = rng.random(n) < 0.02
    first_t = ordered + actual.astype(np.int64) * DAY + rng.integers(-3600, 3600, n)
    first_q = np.where(partial, np.round(qty * rng.uniform(0.5, 0.9, n)), qty).astype(np.int64)
    final_t = np.where(partial, first_t + rng.integers(2, 8, n) * DAY, first_t)
    final_q = np.where(rng.random(n) < 0.1, np.round(qty * rng.uniform(0.9, 0.99, n)), qty).astype(
        np.int64
    )
    cancel_t = np.where(cancel, ordered + rng.integers(1, 5, n) * DAY, NEVER)
    first_t = np.where(cancel, NEVER, first_t)
    final_t = np.where(cancel, NEVER, np.where(partial, final_t, NEVER))
    # The unreliable supplier: later, and often short. Its draws come last, so every draw
    # above is what it was for every supplier.
    bad = sup == w.sup_unreliable
    extra = np.where(bad & late, rng.integers(*UNRELIABLE_EXTRA_DELAY_DAYS, n), 0) * DAY
    short = bad & (rng.random(n) < UNRELIABLE_SHORT_P)
    fill = rng.uniform(*UNRELIABLE_SHORT_FILL, n)
    first_t = np.where(first_t < NEVER, first_t + extra, NEVER)
    final_t = np.where(final_t < NEVER, final_t + extra, NEVER)
    final_q = np.where(short, np.minimum(np.round(qty * fill), final_q), final_q).astype(np.int64)
    first_q = np.minimum(first_q, final_q)
    seq = np.arange(w.po_seq, w.po_seq + n)
    w.po_seq += n
    w.po_batches.append(
        {
            "seq": seq,
            "wh": wh,
            "sku": sku,
            "sup": sup,
            "type": w.sup_production[sup].astype(np.int8),
            "ordered": ordered,
            "promised": (ordered // DAY + lead) * DAY,
            "qty": qty,
            "cost": (w.sku_cost[sku] * rng.uniform(0.95, 1.05, n)).astype(np.int64),
            "first_t": first_t,
            "first_q": first_q,
            "final_t": final_t,
            "final_q": final_q,
            "cancel_t": cancel_t,
            "partial": partial,
        }
    )


def step_supply(
    w, i: int, rng: np.random.Generator, shipped_units: np.ndarray, reserved: np.ndarray
) -> dict:
    t0 = w.t_start + i * DAY
    t1 = t0 + DAY
    received = np.zeros_like(w.on_hand)
    in_transit = np.zeros_like(w.on_hand)
    rows = []
    keep = []
    for b in w.po_batches:
        # First receipt brings first_q (or the full final qty when delivered in one go).
        one_shot = ~b["partial"]
        q1 = np.where(one_shot, b["final_q"], b["first_q"])
        m1 = (b["first_t"] >= t0) & (b["first_t"] < t1)
        np.add.at(received, (b["wh"][m1], b["sku"][m1]), q1[m1])
        m2 = (b["final_t"] >= t0) & (b["final_t"] < t1)
        np.add.at(received, (b["wh"][m2], b["sku"][m2]), b["final_q"][m2] - b["first_q"][m2])
        got = np.where(b["first_t"] < t1, q1, 0) + np.where(
            b["final_t"] < t1, b["final_q"] - b["first_q"], 0
        )
        open_ = (b["cancel_t"] >= t1) & ~((b["first_t"] < t1) & one_shot) & ~(b["final_t"] < t1)
        np.add.at(in_transit, (b["wh"][open_], b["sku"][open_]), (b["qty"] - got)[open_])
        ev = np.zeros(len(b["seq"]), bool)
        for col in ("ordered", "first_t", "final_t", "cancel_t"):
            ev |= (b[col] >= t0) & (b[col] < t1)
        if i == 0:
            ev |= b["ordered"] < t0  # initial load of orders already in flight
        idx = np.nonzero(ev)[0]
        if len(idx):
            status = np.zeros(len(idx), np.int8)
            upd = b["ordered"][idx].copy()
            rec_at = np.full(len(idx), NEVER, np.int64)
            f = b["first_t"][idx] < t1
            status[f] = np.where(one_shot[idx][f], 2, 1)
            upd[f] = b["first_t"][idx][f]
            rec_at[f] = b["first_t"][idx][f]
            g = b["final_t"][idx] < t1
            status[g] = 2
            upd[g] = b["final_t"][idx][g]
            rec_at[g] = b["final_t"][idx][g]
            c = b["cancel_t"][idx] < t1
            status[c] = 3
            upd[c] = b["cancel_t"][idx][c]
            rows.append(
                {
                    k: b[k][idx]
                    for k in ("seq", "type", "sup", "sku", "ordered", "promised", "qty", "cost")
                }
                | {"received_at": rec_at, "got": got[idx], "status": status, "upd": upd}
            )
        if np.any(open_) or np.any(b["cancel_t"][b["cancel_t"] < NEVER] >= t0):
            keep.append(b)
    w.po_batches = keep
    w.on_hand = np.maximum(w.on_hand + received - shipped_units, 0)
    # A stock-out: a launched SKU with nothing available (on hand - reserved) at end of day.
    wh_out, sku_out = np.nonzero((w.on_hand - reserved <= 0) & (w.sku_launch <= i)[None, :])
    w.stockouts.extend(zip([i] * len(wh_out), wh_out.tolist(), sku_out.tolist(), strict=True))
    # Reorder when the stock position falls below lead-time demand plus safety stock.
    position = w.on_hand - reserved + in_transit
    lead = w.sup_lead[w.sku_supplier][None, :]
    rop = w.demand * (lead + 7) + w.safety
    launched = (w.sku_launch <= i + 30)[None, :] & ~w.sku_disc[None, :]
    wh, sku = np.nonzero((position < rop) & (in_transit == 0) & launched)
    if len(wh):
        _new_pos(w, rng, wh, sku, t0 + rng.integers(32_400, 64_800, len(wh)))
        b = w.po_batches[-1]
        rows.append(
            {k: b[k] for k in ("seq", "type", "sup", "sku", "ordered", "promised", "qty", "cost")}
            | {
                "received_at": np.full(len(wh), NEVER, np.int64),
                "got": np.zeros(len(wh), np.int64),
                "status": np.zeros(len(wh), np.int8),
                "upd": b["ordered"].copy(),
            }
        )
        np.add.at(in_transit, (wh, sku), b["qty"])
    return {"in_transit": in_transit, "reserved": reserved, "po_rows": rows}
