"""Turns a day's sessions into events, registrations, shares and owned-store orders; adds
marketplace orders; keeps every person's last touch so each order's true channel is known."""

from __future__ import annotations

import numpy as np

from . import config as C
from .commerce import make_orders
from .io import DAY, NAT, NEVER, mix64
from .traffic import hex_anon, touch_ch, touch_cls

LOOKBACK = 30 * DAY
STORE_REG_CH = {0: 3, 1: 4, 2: 5, 3: 6}  # marketplace store -> register_channel index
PLATFORM_REG_CH = np.array([0, 1, 2, 1])


def run_sessions(w, i: int, rng: np.random.Generator, s: dict) -> dict:
    t0 = w.t_start + i * DAY
    P = w.P
    order = np.lexsort((np.arange(len(s["start"])), s["start"]))
    s = {k: v[order] for k, v in s.items()}
    S = len(s["start"])
    person = s["person"]
    pm = person >= 0
    pp = np.maximum(person, 0)
    registered = pm & (P.reg_t[pp] != NAT) & (P.reg_t[pp] < s["start"])
    seq = np.arange(w.session_seq, w.session_seq + S, dtype=np.int64)
    w.session_seq += S
    anon = np.where(pm, hex_anon(pp, s["platform"]), mix64(seq, 11))
    # A/B/n tests: enrolment and variant are functions of the device, as real SDKs do.
    exp = np.full(S, -1, np.int8)
    var = np.full(S, -1, np.int8)
    mult = np.ones(S)
    for e, (_, plat, share, variants, lifts) in enumerate(C.EXPERIMENTS):
        m = (s["platform"] == plat) & ((mix64(anon, 40 + e) % np.uint64(1000)) < share * 1000)
        m &= ~s["bounce"]
        v = (mix64(anon, 50 + e) % np.uint64(len(variants))).astype(np.int8)
        exp[m] = e
        var[m] = v[m]
        mult[m] *= np.array(lifts)[v[m]]
    F = w.factor(i)
    p = s["conv"] * mult * (1 + 0.3 * (F - 1))
    bounce = s["bounce"]
    convert = s["force"] | (~bounce & (rng.random(S) < p))
    abandon = ~convert & ~bounce & (rng.random(S) < 0.04)
    cart_only = ~convert & ~abandon & ~bounce & (rng.random(S) < 0.08)
    lead = ~registered & ~convert & ~bounce & (rng.random(S) < 0.05)
    coupon = ~bounce & (rng.random(S) < (0.3 if w.promo_discount(i) else 0.06))
    logged = registered & ((s["kind"] != C.T_DIRECT) | convert | (rng.random(S) < 0.85))
    registering = ~registered & (convert | lead)
    # A prospect registers once: a second registering session the same day is logged in.
    ri = np.nonzero(registering & pm)[0]
    if len(ri):
        _, first = np.unique(person[ri], return_index=True)
        again = np.ones(len(ri), bool)
        again[first] = False
        registering[ri[again]] = False
        logged[ri[again]] = True
    share = ~bounce & (logged | registering) & (rng.random(S) < 0.02 + 0.12 * convert)
    cart = convert | abandon | cart_only
    checkout = convert | abandon
    flags = np.stack([coupon, lead, cart, checkout, convert, share]).astype(np.int64)

    n_pv = np.where(bounce, 1, rng.geometric(0.35, S))
    n_prod = np.where(bounce, 0, rng.poisson(2.0, S))
    n_prod = np.where(cart & (n_prod == 0), 1, n_prod)
    base = n_pv + n_prod
    n_ev = base + flags.sum(axis=0)
    cum = np.cumsum(flags, axis=0)  # flags up to and including j
    off = np.zeros(S + 1, np.int64)
    np.cumsum(n_ev, out=off[1:])
    E = int(off[-1])
    ev_s = np.repeat(np.arange(S, dtype=np.int32), n_ev)
    q = np.arange(E, dtype=np.int64) - off[:-1][ev_s]
    e = q - base[ev_s]
    etype = np.where(q < n_pv[ev_s], 0, 1).astype(np.int8)
    ex = e >= 0
    code = np.full(E, 2, np.int8)
    for j in range(6):
        code += (cum[j][ev_s] <= e).astype(np.int8)
    etype[ex] = code[ex]
    gaps = rng.exponential(35.0, E).astype(np.int64) + 1
    gaps[off[:-1][n_ev > 0]] = 0
    ct = np.cumsum(gaps)
    ev_t = s["start"][ev_s] + ct - ct[off[:-1]][ev_s]
    # Keep every event on the session's day: a session never straddles midnight here.
    ev_t = np.minimum(ev_t, t0 + DAY - 1)
    del e, ex, code, gaps, ct

    def pos_time(pos: np.ndarray, sel: np.ndarray | slice = slice(None)) -> np.ndarray:
        return ev_t[off[:-1][sel] + np.minimum(pos, n_ev[sel] - 1)]

    pos_lead = base + coupon
    pos_checkout = pos_lead + lead + cart
    pos_purchase = pos_checkout + checkout
    reg_pos = np.where(lead, pos_lead, pos_checkout)
    reg_t = pos_time(reg_pos)

    # Strangers who register become people now.
    newp = registering & ~pm
    k = int(newp.sum())
    if k:
        person[newp] = P.add(
            k,
            born=i,
            home=s["platform"][newp],
            geo=s["geo"][newp],
            gender=rng.choice(3, k, p=[0.75, 0.2, 0.05]),
            byear=rng.integers(1968, 2007, k),
            mkt_pref=rng.beta(1.6, 2.4, k),
            mkt_store=rng.choice(4, k, p=[0.45, 0.25, 0.12, 0.18]),
            cycle=np.exp(rng.normal(np.log(C.REPURCHASE_MEDIAN_DAYS), C.REPURCHASE_SIGMA, k)),
        )
        # Their device is a per-person fingerprint from now on; this session keeps the one it
        # started with, and the login below stitches it.
    pm = person >= 0
    pp = np.maximum(person, 0)
    rp = person[registering]
    P.reg_t[rp] = reg_t[registering]
    P.reg_ch[rp] = PLATFORM_REG_CH[s["platform"][registering]]
    P.ret_p[rp] = 0.0
    P.member[rp] = rng.random(len(rp)) < 0.4
    soc = registering & (s["referrer"] >= 0)
    P.referrer[person[soc]] = s["referrer"][soc]
    # user_id on an event: logged in from the start, or from the registration event on.
    ev_uid_from = np.where(logged, 0, np.where(registering, reg_pos, np.iinfo(np.int64).max))
    ev_uid = np.where(q >= ev_uid_from[ev_s], person[ev_s], -1).astype(np.int32)

    # Orders placed in sessions: created at checkout, paid at purchase.
    has_order = convert | (abandon & logged)
    osess = np.nonzero(has_order)[0]
    created = pos_time(pos_checkout[osess], osess)
    paid = np.where(convert[osess], pos_time(pos_purchase[osess], osess), NEVER)
    paid = np.where(paid <= created, created + 1, paid)
    lt_k, lt_c = last_touch(w, s, person, osess, created)
    store = np.array(C.PLATFORM_STORE)[s["platform"][osess]]
    paths = touch_paths(w, i, s, person, osess, created)
    seqs = make_orders(
        w,
        w.rng(8, i, 0),
        i,
        store,
        person[osess],
        np.ones(len(osess), bool),
        anon[osess],
        created,
        paid,
        lt_k,
        lt_c,
        touch_ch(lt_k),
        touch_cls(lt_k),
        P.geo[person[osess]],
    )
    for order_seq, path in zip(seqs.tolist(), paths, strict=True):
        w.truth_paths[order_seq] = path
    ev_order = np.full(S, -1, np.int64)
    ev_order[osess] = seqs
    ev_store = np.full(S, -1, np.int8)
    ev_store[osess] = store
    buyers = osess[convert[osess]]
    after_purchase(w, rng, person[buyers], pos_time(pos_purchase[buyers], buyers))
    share &= person >= 0
    w.ref(person[logged], s["start"][logged])
    w.ref(person[registering], reg_t[registering])

    # Shares today bring friends tomorrow.
    sh = np.nonzero(share)[0]
    w.shares_prev = {"person": person[sh], "activity": rng.integers(0, 3, len(sh))}
    soc_s = np.nonzero(s["kind"] >= C.T_SOCIAL0)[0]
    soc_s = soc_s[s["kind"][soc_s] <= C.T_SOCIAL0 + 2]
    referrals = {
        "inviter": s["referrer"][soc_s],
        "anon": anon[soc_s],
        "invitee": np.where(registering[soc_s], person[soc_s], -1),
        "activity": s["kind"][soc_s] - C.T_SOCIAL0,
        "t": s["start"][soc_s],
        "reg_t": np.where(registering[soc_s], reg_t[soc_s], NEVER),
    }
    return {
        "s": s,
        "anon": anon,
        "seq": seq,
        "exp": exp,
        "var": var,
        "n_ev": n_ev,
        "ev_s": ev_s,
        "ev_t": ev_t,
        "etype": etype,
        "ev_uid": ev_uid,
        "ev_order": ev_order,
        "ev_store": ev_store,
        "referrals": referrals,
        "orders": len(osess),
    }


def add_bounces(w, i: int, d: dict, b: dict) -> None:
    """Appends one-page visits of strangers to a processed day.

    They hold most of a large day's events but carry no person, order or login, so they skip
    the funnel machinery (and its memory) and become single page_view events directly.
    """
    B = len(b["start"])
    if B == 0:
        return
    o = np.argsort(b["start"], kind="stable")
    for k in list(b):
        b[k] = b[k][o]
    S = len(d["s"]["start"])
    seq = np.arange(w.session_seq, w.session_seq + B, dtype=np.int64)
    w.session_seq += B
    for k in list(d["s"]):
        d["s"][k] = np.concatenate([d["s"][k], b.pop(k)])
    del b
    d["anon"] = np.concatenate([d["anon"], mix64(seq, 11)])
    d["seq"] = np.concatenate([d["seq"], seq])
    neg = np.full(B, -1, np.int8)
    d["exp"] = np.concatenate([d["exp"], neg])
    d["var"] = np.concatenate([d["var"], neg])
    d["n_ev"] = np.concatenate([d["n_ev"], np.ones(B, d["n_ev"].dtype)])
    d["ev_s"] = np.concatenate([d["ev_s"], np.arange(S, S + B, dtype=np.int32)])
    d["ev_t"] = np.concatenate([d["ev_t"], d["s"]["start"][S:]])
    d["etype"] = np.concatenate([d["etype"], np.zeros(B, np.int8)])
    d["ev_uid"] = np.concatenate([d["ev_uid"], np.full(B, -1, d["ev_uid"].dtype)])
    d["ev_order"] = np.concatenate([d["ev_order"], np.full(B, -1, np.int64)])
    d["ev_store"] = np.concatenate([d["ev_store"], neg])


def last_touch(
    w, s: dict, person: np.ndarray, osess: np.ndarray, created: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Last attributable touch (within 30 days, before the order) of each session order.

    Candidates are today's touch sessions of the same person plus the person's carried state;
    then every person's carried state is advanced to their last touch of today.
    """
    P = w.P
    is_touch = (s["kind"] != C.T_DIRECT) & (person >= 0)
    ti = np.nonzero(is_touch)[0]
    op = person[osess]
    carried = np.unique(op)
    carried = carried[P.lt_t[carried] != NAT]
    tp = np.concatenate([person[ti], carried])
    tt = np.concatenate([s["start"][ti], P.lt_t[carried]])
    tk = np.concatenate([s["kind"][ti], P.lt_k[carried]]).astype(np.int16)
    tc = np.concatenate([s["camp"][ti], P.lt_c[carried]]).astype(np.int32)
    span = np.int64(1) << np.int64(40)
    key = tp * span + (tt - w.t_start + LOOKBACK * 4)
    o = np.argsort(key, kind="stable")
    key, tt, tk, tc, tp = key[o], tt[o], tk[o], tc[o], tp[o]
    okey = op * span + (created - w.t_start + LOOKBACK * 4)
    j = np.searchsorted(key, okey, side="left") - 1
    jj = np.maximum(j, 0)
    ok = (j >= 0) & (tp[jj] == op) & (created - tt[jj] <= LOOKBACK) & (tt[jj] < created)
    lt_k = np.where(ok, tk[jj], C.T_DIRECT).astype(np.int16)
    lt_c = np.where(ok, tc[jj], -1).astype(np.int32)
    # Advance carried state to today's last touch per person.
    if len(ti):
        tperson = person[ti]
        o2 = np.lexsort((s["start"][ti], tperson))
        tperson = tperson[o2]
        last = np.r_[tperson[1:] != tperson[:-1], True]
        src = ti[o2][last]
        pl = tperson[last]
        P.lt_t[pl] = s["start"][src]
        P.lt_k[pl] = s["kind"][src]
        P.lt_c[pl] = s["camp"][src]
    return lt_k, lt_c


def touch_paths(
    w, i: int, s: dict, person: np.ndarray, osess: np.ndarray, created: np.ndarray
) -> list[np.ndarray]:
    """Truth: every attributable touch of each session order's buyer in the 30 days before it
    was created (time, touch kind, campaign, post), oldest first. The day's touch sessions join
    a rolling log of the last 31 days first (a day's order can follow that day's touches)."""
    is_touch = (s["kind"] != C.T_DIRECT) & (person >= 0)
    ti = np.nonzero(is_touch)[0]
    log = w.touch_log
    log[i] = {
        "person": person[ti].astype(np.int64),
        "t": s["start"][ti].astype(np.int64),
        "kind": s["kind"][ti].astype(np.int16),
        "camp": s["camp"][ti].astype(np.int32),
        "post": s["post"][ti].astype(np.int32),
    }
    for day in [d for d in log if d < i - 31]:
        del log[day]
    parts = list(log.values())
    tp = np.concatenate([p["person"] for p in parts])
    tt = np.concatenate([p["t"] for p in parts])
    span = np.int64(1) << np.int64(40)
    base = w.t_start - LOOKBACK * 4
    key = tp * span + (tt - base)
    o = np.argsort(key, kind="stable")
    key, tt = key[o], tt[o]
    kinds = np.concatenate([p["kind"] for p in parts])[o]
    camps = np.concatenate([p["camp"] for p in parts])[o]
    posts = np.concatenate([p["post"] for p in parts])[o]
    op = person[osess].astype(np.int64)
    lo = np.searchsorted(key, op * span + (created - LOOKBACK - base), side="left")
    hi = np.searchsorted(key, op * span + (created - base), side="left")
    return [
        np.stack([tt[a:b], kinds[a:b], camps[a:b], posts[a:b]], axis=1)
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
    ]


def after_purchase(w, rng: np.random.Generator, persons: np.ndarray, t: np.ndarray) -> None:
    """Plans the next purchase, or churn (drop-out after a purchase, as in BG/NBD)."""
    P = w.P
    if len(persons) == 0:
        return
    gap = w.new_cycle_gap(rng, persons)
    drop = rng.random(len(persons)) < C.DROPOUT_AFTER_PURCHASE
    P.next_t[persons] = np.where(drop, NAT, t + gap)


def run_marketplace(
    w, i: int, rng: np.random.Generator, rep: list, qc_clicks: int, xhs_clicks: int
) -> int:
    t0 = w.t_start + i * DAY
    P = w.P
    F = w.factor(i)
    buyers, when = rep
    store_r = np.where(
        rng.random(len(buyers)) < 0.8, P.mkt_store[buyers], rng.integers(0, 4, len(buyers))
    )
    # New marketplace buyers: platform demand, lifted by Qianchuan clicks (douyin shop) and by
    # Xiaohongshu seeding (tmall search).
    lam = np.array([150.0, 90.0, 60.0, 40.0]) * w.V * F
    lam[3] += 0.02 * qc_clicks
    lam[0] += 0.03 * xhs_clicks
    k_new = rng.poisson(lam)
    nstore = np.repeat(np.arange(4), k_new)
    k = len(nstore)
    member = rng.random(k) < 0.3
    ct = t0 + w.intraday(rng, k)
    newp = P.add(
        k,
        born=i,
        home=rng.choice(4, k, p=[0.6, 0.25, 0.1, 0.05]),
        geo=rng.choice(len(C.GEO), k, p=w.geo_p),
        gender=rng.choice(3, k, p=[0.75, 0.2, 0.05]),
        byear=rng.integers(1968, 2007, k),
        mkt_pref=rng.beta(6, 1.5, k),
        mkt_store=nstore,
        member=member,
        cycle=np.exp(rng.normal(np.log(C.REPURCHASE_MEDIAN_DAYS), C.REPURCHASE_SIGMA, k)),
    )
    P.reg_t[newp[member]] = ct[member]
    P.reg_ch[newp[member]] = np.array([3, 4, 5, 6])[nstore[member]]
    person = np.concatenate([buyers, newp])
    store = np.concatenate([store_r, nstore]).astype(np.int8)
    created = np.concatenate([np.maximum(when, t0), ct])
    n = len(person)
    paid = created + rng.integers(10, 600, n)
    cancel = rng.random(n) < 0.05
    paid = np.where(cancel, NEVER, paid)
    has_cid = (P.reg_t[person] != NAT) & P.member[person]
    ch = np.array([C.CHANNELS.index(C.STORE_CHANNEL[x]) for x in range(4)])[store]
    make_orders(
        w,
        w.rng(8, i, 1),
        i,
        store,
        person,
        has_cid,
        np.zeros(n, np.uint64),
        created,
        paid,
        np.full(n, -1),
        np.full(n, -1),
        ch,
        np.full(n, C.TRAFFIC_CLASSES.index("natural")),
        P.geo[person],
    )
    w.ref(person[has_cid], created[has_cid])
    after_purchase(w, rng, person[~cancel], paid[~cancel])
    return n
