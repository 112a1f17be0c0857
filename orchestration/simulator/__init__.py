"""Landing-zone simulator of one coherent omni-channel world (`growth simulate`).

`simulate()` writes every source of docs/spec sources.md day by day under `out`, plus
`out/_truth.json`: what a correct warehouse must compute from those files.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import config as C
from .commerce import emit_orders, finalize_batches, init_supply, sku_weights, step_supply
from .config import SCALES, Scale
from .crm_truth import CrmTruth, koc_truth
from .customers_truth import customers_truth
from .engine import add_bounces, run_marketplace, run_sessions
from .faults import inject, plan
from .io import DAY, NAT, NEVER, GzipPool, connect, ensure_dir, touch_success
from .sources import (
    SOURCES,
    write_ads,
    write_customers,
    write_events,
    write_inventory,
    write_listening,
    write_orders,
    write_points,
    write_pos,
    write_posts,
    write_products,
    write_referrals,
    write_responses,
    write_roster,
    write_shipments,
    write_suppliers,
    write_touches,
)
from .traffic import (
    concat,
    eligible_customers,
    publish_posts,
    run_ads,
    run_content,
    run_crm,
    run_visits,
)
from .world import (
    PH_ADS,
    PH_CONTENT,
    PH_CRM,
    PH_CUST,
    PH_EVENTS,
    PH_FAULTS,
    PH_LISTEN,
    PH_LOYAL,
    PH_MESS,
    PH_MKT,
    PH_ORDERS,
    PH_SESS,
    PH_SUPPLY,
    PH_SURVEY,
    World,
)

__all__ = ["SCALES", "Scale", "SOURCES", "simulate"]


def simulate(
    out: Path,
    start: dt.date,
    days: int,
    scale: str = "small",
    seed: int = 0,
    faults: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Writes the landing zone under `out` and `out/_truth.json`; returns the truth dict."""
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}: choose one of {', '.join(SCALES)}.")
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}.")
    if not isinstance(start, dt.date):
        raise ValueError(f"start must be a datetime.date, got {start!r}.")
    out = ensure_dir(Path(out))
    say = progress or (lambda _msg: None)
    sim = _Simulation(out, SCALES[scale], start, days, seed, faults, say)
    return sim.run()


class _Simulation:
    def __init__(
        self,
        out: Path,
        scale: Scale,
        start: dt.date,
        days: int,
        seed: int,
        faults: bool,
        say: Callable[[str], None],
    ) -> None:
        self.out = out
        self.say = say
        w = self.w = World(scale, start, days, seed)
        w.batches = []
        w.late = {}
        w.truth_orders = {
            "orders": np.zeros(days, np.int64),
            "gmv": np.zeros(days, np.int64),
            "refund": np.zeros(days, np.int64),
            "by_order": {},
        }
        self.spend = np.zeros(days, np.int64)
        # Qianchuan, Juguang and Tencent Ads are the douyin, xiaohongshu and wechat channels
        self.spend_by_channel = np.zeros((days, 3), np.int64)
        self.events = np.zeros(days, np.int64)
        self.visitors = np.zeros((days, 4), np.int64)
        self.vis_parts: dict[tuple[int, int], list[np.ndarray]] = {}
        w.truth_events = self._truth_events
        init_supply(w)
        for j in range(-13, 0):  # posts published before the window still report inside it
            publish_posts(w, j, w.rng(PH_CONTENT, j))
        self.fault_plan = plan(days, w.rng(PH_FAULTS)) if faults else {}
        self.fault_records: list[dict] = []
        self.dirty_p: list[np.ndarray] = []
        self.dirty_t: list[np.ndarray] = []
        # day -> (aided awareness probability, brand-tracker respondents): customers_truth
        self.awareness_by_day: dict[int, tuple[float, int]] = {}
        self.crm_truth = CrmTruth()

    # --------------------------------------------------------------------------- truth
    def _truth_events(self, info: dict) -> None:
        w = self.w
        day = (info["t"] - w.t_start) // DAY
        ok = (day >= 0) & (day < w.days)
        day = day[ok]
        self.events += np.bincount(day, minlength=w.days)[: w.days]
        for cls in range(4):
            m = info["cls"][ok] == cls
            for d in np.unique(day[m]).tolist():
                self.vis_parts.setdefault((d, cls), []).append(
                    np.unique(info["anon"][ok][m][day[m] == d])
                )

    def _close_visitors(self, upto: int) -> None:
        for key in [k for k in self.vis_parts if k[0] <= upto]:
            d, cls = key
            self.visitors[d, cls] = len(np.unique(np.concatenate(self.vis_parts.pop(key))))

    def _faulted(self, source: str, i: int) -> bool:
        return (source, i) in self.fault_plan

    # ----------------------------------------------------------------------------- run
    def run(self) -> dict:
        w = self.w
        con = connect()
        pool = GzipPool()
        for i in range(w.days):
            self._day(i, con, pool)
        finalize_batches(w, 0, force=True)
        self._close_visitors(w.days)
        truth = self._truth()
        (self.out / "_truth.json").write_text(
            json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=False), encoding="utf-8"
        )
        con.close()
        return truth

    def _folder(self, source: str, i: int) -> Path:
        return ensure_dir(self.out / source / str(self.w.date(i)))

    def _day(self, i: int, con, pool: GzipPool) -> None:
        w = self.w
        date = str(w.date(i))
        t0 = w.t_start + i * DAY
        t1 = t0 + DAY
        tag = f"day {i + 1}/{w.days} {date}"
        w.cust_pool = eligible_customers(w)
        w.sku_p_today = sku_weights(w, i)

        # Demand.
        ads = run_ads(w, i, w.rng(PH_ADS, i))
        content = run_content(w, i, w.rng(PH_CONTENT, i))
        crm = run_crm(w, i, w.rng(PH_CRM, i))
        visits, rep = run_visits(w, i, w.rng(PH_SESS, i, 1))
        sess = concat([ads["sessions"], content["sessions"], crm["sessions"], visits])
        # Split, then drop the combined arrays before the heavy steps (bounded memory).
        bounce = sess["bounce"]
        engaged = {k: v[~bounce] for k, v in sess.items()}
        strangers = {k: v[bounce] for k, v in sess.items()}
        del sess, bounce
        d = run_sessions(w, i, w.rng(PH_SESS, i), engaged)
        del engaged
        add_bounces(w, i, d, strangers)
        del strangers
        for key in ("conv", "force"):  # not needed to write events; frees memory
            d["s"].pop(key)
        d.pop("n_ev")
        n_mkt = run_marketplace(
            w, i, w.rng(PH_MKT, i), rep, ads["qc_clicks"], content["xhs_clicks"]
        )

        # Orders family first: the warehouse's core facts.
        em = emit_orders(w, i, w.rng(PH_ORDERS, i), loaded=not self._faulted("orders", i))
        write_products(w, con, self._folder("products", i), i)
        n_rows = write_orders(w, con, self._folder("orders", i), em["orders"], w.rng(PH_MESS, i, 1))
        self.say(
            f"{tag}: {d['orders'] + n_mkt:,} orders placed, {n_rows:,} order snapshots, "
            f"{len(d['s']['start']):,} sessions"
        )
        write_shipments(w, con, self._folder("shipments", i), em["shipments"])
        sup = step_supply(w, i, w.rng(PH_SUPPLY, i), em["shipped_units"], em["reserved"])
        write_inventory(w, con, self._folder("inventory", i), i, sup)
        write_pos(w, con, self._folder("purchase_orders", i), sup["po_rows"])
        write_suppliers(w, self._folder("suppliers", i))

        # CRM family.
        led = self._loyalty(i, em, d["referrals"])
        write_points(w, con, self._folder("loyalty", i), led)
        write_referrals(w, con, self._folder("referrals", i), d["referrals"])
        write_responses(w, con, self._folder("surveys", i), self._surveys(i, em))
        write_touches(w, con, self._folder("crm_touches", i), crm["rows"], w.rng(PH_MESS, i, 2))
        self.crm_truth.record(w, crm["rows"], loadable=not self._faulted("crm_touches", i))
        p, t = self._customers(i, t0, t1)
        write_customers(w, con, self._folder("customers", i), p, t)

        # Channel family.
        write_ads(w, self._folder("ads", i), i, ads)
        for p_i, name in enumerate(("qianchuan", "juguang", "tencent_ads")):
            if not (name == "juguang" and self._faulted("ads", i)):
                self.spend[i] += int(ads["rows"][p_i]["spend_c"].sum())
                self.spend_by_channel[i, p_i] += int(ads["rows"][p_i]["spend_c"].sum())
        write_posts(w, con, self._folder("content", i), i, content["rows"])
        write_roster(w, self._folder("koc", i), i)
        write_listening(w, self._folder("listening", i), i, w.rng(PH_LISTEN, i), content)
        n_ev = write_events(w, con, self._folder("events", i), i, d, w.rng(PH_EVENTS, i), pool)
        self.say(f"{tag}: {n_ev:,} events written, {len(p):,} customer changes")

        for source in SOURCES:
            touch_success(self._folder(source, i))
        for source in SOURCES:
            f = self.fault_plan.get((source, i))
            if f:
                rec = inject(self._folder(source, i), f, date, w.rng(PH_FAULTS, i))
                self.fault_records.append(rec)
                self.say(f"{tag}: injected fault {rec['kind']} into {source}/{rec['file']}")
        finalize_batches(w, t1)
        self._close_visitors(i - 3)

    # ------------------------------------------------------------------- CRM-side facts
    def _loyalty(self, i: int, em: dict, ref: dict) -> dict:
        w = self.w
        P = w.P
        rng = w.rng(PH_LOYAL, i)
        t0 = w.t_start + i * DAY
        t1 = t0 + DAY
        parts = []
        if em["paid"]:
            per = np.concatenate([x[0] for x in em["paid"]])
            pt = np.concatenate([x[1] for x in em["paid"]])
            pc = np.concatenate([x[2] for x in em["paid"]])
            m = (per >= 0) & (P.reg_t[np.maximum(per, 0)] != NAT)
            m &= (P.reg_t[np.maximum(per, 0)] <= pt) & ~P.deleted[np.maximum(per, 0)]
            per, pt, pc = per[m], pt[m], pc[m]
            parts.append((per, pt, pc // 100, 0))
            # Member tier follows cumulative spend; an upgrade is a CRM change.
            np.add.at(P.spend, per, (pc // 100).astype(np.int32))
            new_tier = np.searchsorted(C.TIER_SPEND, P.spend[per], side="right") - 1
            up = new_tier > P.tier[per]
            P.tier[per[up]] = new_tier[up]
            self.dirty_p.append(per[up])
            self.dirty_t.append(pt[up])
        inv = ref["inviter"]
        ok = (ref["invitee"] >= 0) & (ref["reg_t"] < t1) & (inv >= 0)
        parts.append((inv[ok], ref["reg_t"][ok], np.full(int(ok.sum()), 100), 1))
        for per, dt_ in em["delivered"]:
            m = (per >= 0) & (rng.random(len(per)) < 0.03)
            m &= (P.reg_t[np.maximum(per, 0)] != NAT) & ~P.deleted[np.maximum(per, 0)]
            tt = dt_[m] + 600
            keep = tt < t1
            parts.append((per[m][keep], tt[keep], np.full(int(keep.sum()), 20), 2))
        pool = w.cust_pool
        pool = pool[P.tier[pool] >= 1]
        red = pool[rng.random(len(pool)) < (0.006 if w.promo_discount(i) else 0.002)]
        parts.append((red, t0 + w.intraday(rng, len(red)), -100 * rng.integers(1, 11, len(red)), 3))
        if w.date(i).day == 1:
            ex = w.cust_pool[rng.random(len(w.cust_pool)) < 0.02]
            parts.append((ex, np.full(len(ex), t0 + 60), -10 * rng.integers(5, 50, len(ex)), 4))
        led = {
            "person": np.concatenate([x[0] for x in parts]).astype(np.int64),
            "t": np.concatenate([x[1] for x in parts]).astype(np.int64),
            "delta": np.concatenate([x[2] for x in parts]).astype(np.int64),
            "reason": np.concatenate([np.full(len(x[0]), x[3]) for x in parts]).astype(np.int8),
        }
        w.ref(led["person"], led["t"])
        return led

    def awareness(self) -> tuple[float, float]:
        w = self.w
        aided = 0.22 + 0.3 * (1 - np.exp(-w.cum_impressions / (4e6 * w.V)))
        return float(aided), float(aided * 0.38)

    def _surveys(self, i: int, em: dict) -> dict:
        w = self.w
        P = w.P
        rng = w.rng(PH_SURVEY, i)
        t0 = w.t_start + i * DAY
        t1 = t0 + DAY
        per = (
            np.concatenate([x[0] for x in em["delivered"]])
            if em["delivered"]
            else np.zeros(0, np.int64)
        )
        dlv = (
            np.concatenate([x[1] for x in em["delivered"]])
            if em["delivered"]
            else np.zeros(0, np.int64)
        )
        pp = np.maximum(per, 0)
        m = (per >= 0) & (P.reg_t[pp] != NAT) & ~P.deleted[pp] & (rng.random(len(per)) < 0.06)
        tt = dlv + rng.integers(2 * 3600, 20 * 3600, len(per))
        m &= tt < t1
        nps_p, nps_t = per[m], tt[m]
        k = len(nps_p)
        nps = rng.choice(11, k, p=np.array(C.NPS_PROBS) / sum(C.NPS_PROBS))
        kt = int(rng.poisson(40 * w.V**0.5))
        pool = w.cust_pool
        tp = np.where(
            (rng.random(kt) < 0.1) & (len(pool) > 0),
            pool[rng.integers(0, max(len(pool), 1), kt)] if len(pool) else -1,
            -1,
        )
        aided_p, unaided_p = self.awareness()
        self.awareness_by_day[i] = (aided_p, kt)
        aid = (rng.random(kt) < aided_p).astype(np.int64)
        un = (aid.astype(bool) & (rng.random(kt) < unaided_p / aided_p)).astype(np.int64)
        rat = rng.choice(5, kt, p=[0.03, 0.07, 0.22, 0.4, 0.28]) + 1
        kw = np.array(C.BRAND_KEYWORDS)
        assoc = [
            ";".join(kw[rng.choice(len(kw), int(rng.integers(1, 4)), replace=False)]) if a else ""
            for a in aid.tolist()
        ]
        times = np.concatenate([nps_t, t0 + w.intraday(rng, kt)])
        o = np.argsort(times, kind="stable")
        r = {
            "person": np.concatenate([nps_p, tp]).astype(np.int64),
            "t": times,
            "survey": np.concatenate([np.zeros(k), np.ones(kt)]).astype(np.int8),
            "nps": np.concatenate([nps, np.full(kt, -1)]),
            "un": np.concatenate([np.full(k, -1), un]),
            "aid": np.concatenate([np.full(k, -1), aid]),
            "rat": np.concatenate([np.full(k, -1), rat]),
            "assoc": np.array([""] * k + assoc, dtype=object),
        }
        r = {key: v[o] for key, v in r.items()}
        r["assoc"] = [a if a else None for a in r["assoc"].tolist()]
        w.ref(r["person"], r["t"])
        return r

    def _customers(self, i: int, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
        """Who appears in today's CRM change feed, and with which updated_at."""
        w = self.w
        P = w.P
        n = P.n
        rng = w.rng(PH_CUST, i)
        reg = P.reg_t[:n]
        live = (reg != NAT) & (reg < t1) & ~P.deleted[:n]
        # Spontaneous CRM changes.
        add_wc = np.nonzero(live & ~P.wecom[:n] & (rng.random(n) < 0.002))[0]
        P.wecom[add_wc] = True
        opt = np.nonzero(live & ~P.optout[:n] & (rng.random(n) < 0.0005))[0]
        P.optout[opt] = True
        erase = np.nonzero(live & P.emitted[:n] & (rng.random(n) < 0.0002))[0]
        P.deleted[erase] = True
        P.next_t[erase] = NAT
        P.heavy[erase] = False
        chg_p = [np.nonzero((reg >= t0) & (reg < t1))[0], add_wc, opt, erase, *self.dirty_p]
        chg_t = [
            reg[chg_p[0]],
            t0 + w.intraday(rng, len(add_wc)),
            t0 + w.intraday(rng, len(opt)),
            t0 + w.intraday(rng, len(erase)),
            *self.dirty_t,
        ]
        self.dirty_p, self.dirty_t = [], []
        rp, rt = w.take_refs()
        ok = (reg[rp] != NAT) & (reg[rp] < t1) & ~P.emitted[rp]
        rp, rt = rp[ok], np.maximum(rt[ok], reg[rp[ok]])
        cp = np.concatenate(chg_p).astype(np.int64)
        ct = np.concatenate(chg_t).astype(np.int64)
        allp = np.concatenate([cp, rp])
        if len(allp) == 0:
            return allp, allp
        ch_t = np.concatenate([ct, np.full(len(rp), NAT)])
        rf_t = np.concatenate([np.full(len(cp), NEVER), rt])
        o = np.lexsort((ch_t, allp))
        allp, ch_t, rf_t = allp[o], ch_t[o], rf_t[o]
        start = np.r_[0, np.nonzero(allp[1:] != allp[:-1])[0] + 1]
        persons = allp[start]
        mx = np.maximum.reduceat(ch_t, start)
        mn = np.minimum.reduceat(rf_t, start)
        upd = np.where(mx != NAT, mx, mn)
        upd = np.clip(upd, t0, t1 - 1)
        P.emitted[persons] = True
        o = np.lexsort((persons, upd))
        return persons[o], upd[o]

    # -------------------------------------------------------------------------- truth
    def _truth(self) -> dict:
        w = self.w
        tr = w.truth_orders
        P = w.P
        fp = P.first_paid[: P.n]
        fp = fp[fp < NEVER]
        nd = (fp - w.t_start) // DAY
        new_c = np.bincount(nd[(nd >= 0) & (nd < w.days)], minlength=w.days)
        daily = {}
        for i in range(w.days):
            gmv = int(tr["gmv"][i])
            daily[str(w.date(i))] = {
                "orders": int(tr["orders"][i]),
                "gmv": round(gmv / 100, 2),
                "net_revenue": round((gmv - int(tr["refund"][i])) / 100, 2),
                "new_customers": int(new_c[i]),
                "spend": round(int(self.spend[i]) / 100, 2),
                "spend_by_channel": {
                    channel: round(int(self.spend_by_channel[i, k]) / 100, 2)
                    for k, channel in enumerate(("douyin", "xiaohongshu", "wechat"))
                },
                "visitors": {c: int(self.visitors[i, k]) for k, c in enumerate(C.TRAFFIC_CLASSES)},
                "events": int(self.events[i]),
            }
        by_order = {
            k: {"channel": v[0], "traffic_class": v[1], "gmv": round(v[2] / 100, 2)}
            | ({"path": v[3]} if v[3] is not None else {})
            for k, v in sorted(tr["by_order"].items())
        }
        aided, unaided = self.awareness()
        nps_p = np.array(C.NPS_PROBS) / sum(C.NPS_PROBS)
        parameters = self._parameters(nps_p, aided, unaided)
        return {
            "seed": w.seed,
            "scale": w.scale.name,
            "start": str(w.start),
            "days": w.days,
            "daily": daily,
            "orders": by_order,
            "parameters": parameters,
            "faults": self.fault_records,
            "supply": self._supply_truth(),
            "customers": customers_truth(
                w, w.truth_orders.get("customer_paid", []), self.awareness_by_day
            ),
            "crm": self.crm_truth.truth(w, parameters["crm"]),
            "koc": koc_truth(w, by_order),
            "definitions": {
                "orders": "latest snapshot (max updated_at) per order among loadable files; "
                "counted on the Asia/Shanghai date of paid_at when not null",
                "gmv": "sum of paid_amount of those orders",
                "net_revenue": "gmv minus sum of their refund_amount",
                "new_customers": "customer_ids whose first paid order (orders with a "
                "customer_id) falls on the date",
                "spend": "sum of ad spend in yuan over qianchuan, juguang and tencent_ads "
                "(fen / 100) of loadable files; spend_by_channel: the same by channel "
                "(qianchuan douyin, juguang xiaohongshu, tencent_ads wechat)",
                "visitors": "distinct anonymous_id per event date with at least one event of "
                "a session of that traffic class (class from the session's "
                "utm_source/utm_medium, see parameters.channel_rules)",
                "events": "distinct event_id per Asia/Shanghai date of event_time",
                "supply": "suppliers: each supplier's true P(a purchase order arrives late), "
                "nominal lead time and master data; unreliable_supplier: the one supplier made "
                "late and short on purpose; stockouts: [date, warehouse_id, sku_id] of every "
                "end-of-day stock level with nothing available (on_hand - reserved <= 0) of a "
                "SKU launched on or before that date",
                "crm": "throttled: per date, the customer_ids touched (a touch sent, "
                "delivered or not) on fatigue_throttle_days or more consecutive dates up to it; "
                "consecutive_days: per date, every customer touched on 2 or more consecutive "
                "dates up to it, with that count; rates_by_channel: the true delivered, open "
                "(given delivered) and click (given delivered) probabilities of each channel; "
                "sent: per date and channel, [touches sent, delivered] of loadable reports",
                "koc": "last_touch: per KOC, the paid orders (of orders) whose true last touch "
                "came from one of its posts, and their gmv",
                "orders_map": "true channel and traffic_class of each paid order: marketplace "
                "store's own channel (douyin_shop -> douyin) with traffic_class "
                "natural; owned stores: last touch within 30 days before "
                "created_at (identity stitched by user_id), else own_site/natural; gmv "
                "(paid amount); for owned-store orders, path: every touch (a session that "
                "arrived with UTM or referral information) of the buyer in the 30 days "
                "before created_at, oldest first, with its time, channel, traffic class, "
                "utm source and medium, campaign and post",
            },
        }

    def _supply_truth(self) -> dict:
        w = self.w
        tiers = ("strategic", "preferred", "approved")
        suppliers = {
            f"SUP{k:04d}": {
                "late_p": round(float(w.sup_late_p[k]), 4),
                "lead_days": int(w.sup_lead[k]),
                "tier": tiers[int(w.sup_tier[k])],
                "certified": bool(w.sup_cert[k]),
                "has_backup": bool(w.sup_backup[k] >= 0),
                "skus": int((w.sku_supplier == k).sum()),
            }
            for k in range(len(w.sup_late_p))
        }
        return {
            "unreliable_supplier": f"SUP{w.sup_unreliable:04d}",
            "suppliers": suppliers,
            "stockouts": [
                [str(w.date(i)), w.wh_ids[wh], w.sku_ids[sku]] for i, wh, sku in w.stockouts
            ],
        }

    def _parameters(self, nps_p: np.ndarray, aided: float, unaided: float) -> dict:
        w = self.w
        promoters = float(nps_p[9:].sum())
        detractors = float(nps_p[:7].sum())
        return {
            "promo_day": str(w.date(w.promo_day)) if 0 <= w.promo_day < w.days else None,
            "day_factor": {str(w.date(i)): round(w.factor(i), 4) for i in range(w.days)},
            "conversion_by_touch": C.CONVERSION_BY_TOUCH,
            "experiments": [
                {
                    "experiment_id": e[0],
                    "platform": C.PLATFORMS[e[1]],
                    "enrolled_share": e[2],
                    "variants": dict(zip(e[3], e[4], strict=True)),
                    # relative change of a visit's conversion probability against control
                    "true_lift": {
                        v: round(m / e[4][0] - 1, 6) for v, m in zip(e[3], e[4], strict=True)
                    },
                    "has_effect": any(m != e[4][0] for m in e[4]),
                }
                for e in C.EXPERIMENTS
            ],
            "repurchase": {
                "cycle_median_days": C.REPURCHASE_MEDIAN_DAYS,
                "cycle_lognormal_sigma": C.REPURCHASE_SIGMA,
                "gap_gamma_shape": C.REPURCHASE_GAMMA_SHAPE,
                "dropout_after_purchase": C.DROPOUT_AFTER_PURCHASE,
            },
            "koc": {
                "followers": "3000 * (1 + pareto(1.05)), capped at 8M",
                "category_fit_conversion_multiplier": C.KOC_CATEGORY_FIT,
                "reach_per_post_lognormal": {"median_share_of_followers": 0.35, "sigma": 0.8},
                "post_decay_half_life_days": round(2 * np.log(2), 3),
            },
            "nps": {
                "score_probabilities": [round(float(x), 4) for x in nps_p],
                "true_nps": round(100 * (promoters - detractors), 2),
            },
            "awareness": {"aided_end": round(aided, 4), "unaided_end": round(unaided, 4)},
            "crm": {
                "channels": list(C.CRM_CHANNELS),
                "delivered": [0.97, 0.995, 0.92, 0.88, 0.90],
                "open": [0.18, 0.45, 0.25, 0.12, 0.15],
                "click_given_open": [0.35, 0.30, 0.35, 0.30, 0.25],
                "daily_touch_rate": 0.025,
                "fatigue_segment_share": 0.015,
            },
            "channel_rules": [
                {"utm_source": t[0], "utm_medium": t[1], "channel": t[2], "traffic_class": t[3]}
                for t in C.TOUCHES
            ],
            "stores": {s: C.STORE_CHANNEL[k] for k, s in enumerate(C.STORES)},
            "mess_rates": {
                "event_duplicate": 0.003,
                "event_late_session": 0.004,
                "order_snapshot_duplicate": 0.002,
                "touch_duplicate": 0.002,
                "erasure_per_day": 0.0002,
            },
        }
