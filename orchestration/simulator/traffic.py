"""Demand side of a day: ads, content, CRM sends, visits (sessions) and what they lead to."""

from __future__ import annotations

import numpy as np

from . import config as C
from .io import DAY, NAT, NEVER, mix64

CONV = C.CONVERSION_BY_TOUCH
CRM_DELIVERED = np.array([0.97, 0.995, 0.92, 0.88, 0.90])
CRM_OPEN = np.array([0.18, 0.45, 0.25, 0.12, 0.15])
CRM_CLICK = np.array([0.35, 0.30, 0.35, 0.30, 0.25])
CRM_PLATFORM = np.array([1, 0, 0, 2, 3])  # landing platform of each CRM channel
AD_PLATFORM = (1, 1, 0)  # qianchuan and juguang land on H5, tencent on the mini-program
CONTENT_PLATFORM = np.array([1, 1, 0, 1])

SESSION_FIELDS: dict[str, tuple[str, int]] = {
    "person": ("int64", -1),
    "kind": ("int16", 0),
    "camp": ("int32", -1),
    "post": ("int32", -1),
    "referrer": ("int64", -1),
    "platform": ("int8", 0),
    "start": ("int64", 0),
    "bounce": ("bool", 0),
    "force": ("bool", 0),
    "conv": ("float64", 0.0),
    "geo": ("int16", 0),
}


def sessions(n: int, **fields: object) -> dict[str, np.ndarray]:
    out = {}
    for k, (dt, fill) in SESSION_FIELDS.items():
        v = fields.get(k, fill)
        out[k] = np.broadcast_to(np.asarray(v, dtype=dt), (n,)).copy()
    return out


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [p for p in parts if len(p["start"])]
    if not parts:
        return sessions(0)
    return {k: np.concatenate([p[k] for p in parts]) for k in SESSION_FIELDS}


def touch_cls(kind: np.ndarray) -> np.ndarray:
    m = np.array([C.TRAFFIC_CLASSES.index(t[3]) for t in C.TOUCHES], np.int8)
    return m[kind]


def touch_ch(kind: np.ndarray) -> np.ndarray:
    m = np.array([C.CHANNELS.index(t[2]) for t in C.TOUCHES], np.int8)
    return m[kind]


def eligible_customers(w) -> np.ndarray:
    P = w.P
    n = P.n
    return np.nonzero((P.reg_t[:n] != NAT) & ~P.deleted[:n])[0]


def assign_persona(
    w, rng: np.random.Generator, s: dict, i: int, p_reg: float, p_new: float
) -> None:
    """Who is behind a campaign visit: a known customer, a new trackable prospect, or a
    one-visit stranger (person -1, materialised only if they convert or leave a lead)."""
    n = len(s["start"])
    r = rng.random(n)
    reg = r < p_reg
    pool = w.cust_pool
    if len(pool) and reg.any():
        s["person"][reg] = pool[rng.integers(0, len(pool), reg.sum())]
    else:
        reg[:] = False
    new = (~reg) & (r < p_reg + p_new)
    k = int(new.sum())
    if k:
        s["person"][new] = w.P.add(
            k,
            born=i,
            home=s["platform"][new],
            geo=rng.choice(len(C.GEO), k, p=w.geo_p),
            gender=rng.choice(3, k, p=[0.75, 0.2, 0.05]),
            byear=rng.integers(1968, 2007, k),
            ret_p=rng.uniform(0.05, 0.3, k),
            mkt_pref=rng.beta(2, 2, k),
            mkt_store=rng.choice(4, k, p=[0.45, 0.25, 0.12, 0.18]),
            cycle=np.exp(rng.normal(np.log(C.REPURCHASE_MEDIAN_DAYS), C.REPURCHASE_SIGMA, k)),
        )
    pm = s["person"] >= 0
    s["geo"][pm] = w.P.geo[s["person"][pm]]
    s["geo"][~pm] = rng.choice(len(C.GEO), int((~pm).sum()), p=w.geo_p)


# --------------------------------------------------------------------------------- ads
def run_ads(w, i: int, rng: np.random.Generator) -> dict:
    t0 = w.t_start + i * DAY
    F = w.factor(i)
    rows: list[dict] = []
    sess = []
    for p in range(3):
        nc = len(w.ad_camp[p])
        budget = w.ad_budget[p]
        spend = budget * F**0.8 * rng.lognormal(0, 0.12, nc)
        spend_c = np.round(spend * 100).astype(np.int64)
        # Diminishing returns: each extra yuan buys fewer impressions.
        imps = (
            spend / w.ad_cpm[p] * 1000 * (spend / budget) ** -0.15 * rng.lognormal(0, 0.05, nc)
        ).astype(np.int64)
        clicks = rng.binomial(imps, np.minimum(w.ad_ctr[p] * rng.lognormal(0, 0.1, nc), 0.5))
        visits = rng.binomial(clicks, 0.72)
        n = int(visits.sum())
        plat = np.full(n, AD_PLATFORM[p], np.int8)
        if p == 0:
            plat[rng.random(n) < 0.3] = 2
        sess.append(
            sessions(
                n,
                kind=1 + p,
                camp=np.repeat(w.ad_camp[p], visits),
                platform=plat,
                start=t0 + w.intraday(rng, n),
                conv=CONV["paid"],
            )
        )
        claim_o = rng.binomial(clicks, 0.012 if p == 0 else 0.0)
        claim_v = np.round(claim_o * rng.uniform(150, 230, nc) * 100).astype(np.int64)
        eng = rng.binomial(imps, 0.025)
        rows.append(
            {
                "camp": w.ad_camp[p],
                "spend_c": spend_c,
                "imps": imps,
                "clicks": clicks,
                "claim_o": claim_o,
                "claim_v": claim_v,
                "eng": eng,
            }
        )
        w.cum_impressions += float(imps.sum())
    s = concat(sess)
    assign_persona(w, rng, s, i, 0.12, 0.10)
    qc_clicks = int(rows[0]["clicks"].sum())
    return {"rows": rows, "sessions": s, "qc_clicks": qc_clicks}


# ------------------------------------------------------------------------------ content
def publish_posts(w, i: int, rng: np.random.Generator) -> None:
    t0 = w.t_start + i * DAY
    nk = len(w.koc_ids)
    active = w.koc_joined <= i
    k_posts = rng.poisson(w.koc_rate * active)
    koc = np.repeat(np.arange(nk), k_posts)
    brand_pf = np.nonzero(rng.random(4) < 0.7)[0]
    platform = np.concatenate([w.koc_platform[koc], brand_pf]).astype(np.int8)
    koc = np.concatenate([koc, np.full(len(brand_pf), -1)])
    n = len(koc)
    if n == 0:
        return
    ptype = np.select(
        [platform == 0, platform == 1, platform == 2],
        [
            np.where(rng.random(n) < 0.8, 0, 2),
            np.where(rng.random(n) < 0.7, 1, 0),
            np.where(rng.random(n) < 0.7, 0, 2),
        ],
        np.where(rng.random(n) < 0.5, 3, 0),
    ).astype(np.int8)
    followers = np.where(koc >= 0, w.koc_followers0[np.maximum(koc, 0)], 60_000 * w.V**0.5)
    reach = followers * rng.lognormal(np.log(0.35), 0.8, n)
    fit = np.where(koc >= 0, w.koc_fit[np.maximum(koc, 0)], 1.0)
    ctr = 0.006 * w.content_ctr_norm * fit * rng.lognormal(0, 0.3, n)
    start = len(w.post_ids)
    letters = "DXCW"
    w.post_ids.extend(f"P{letters[pf]}{start + k:08d}" for k, pf in enumerate(platform.tolist()))
    w.posts.platform.append(platform)
    w.posts.koc.append(koc)
    w.posts.ptype.append(ptype)
    w.posts.publish_t.append(t0 + w.intraday(rng, n))
    w.posts.reach.append(reach)
    w.posts.ctr.append(np.minimum(ctr, 0.2))
    w.posts.watch.append(rng.beta(3, 4, n))
    w.posts.pos.append(rng.beta(8, 2, n) * np.where(fit > 1.0, 1.0, 0.9))


AGE_SHARE = np.exp(-np.arange(14) / 2.0)
AGE_SHARE /= AGE_SHARE.sum()


def run_content(w, i: int, rng: np.random.Generator) -> dict:
    t0 = w.t_start + i * DAY
    t1 = t0 + DAY
    publish_posts(w, i, rng)
    a = w.posts.arrays()
    if len(a["publish_t"]) == 0:
        return {"rows": None, "sessions": sessions(0), "xhs_clicks": 0}
    pday = (a["publish_t"] - w.t_start) // DAY
    idx = np.nonzero((pday <= i) & (pday > i - 14))[0]
    age = (i - pday[idx]).astype(np.int64)
    frac = np.where(age == 0, (t1 - a["publish_t"][idx]) / DAY, 1.0)
    imps = rng.poisson(a["reach"][idx] * AGE_SHARE[age] * frac)
    ptype = a["ptype"][idx].astype(np.int64)
    views = rng.binomial(imps, np.array([0.45, 0.3, 0.6, 0.25])[ptype])
    likes = rng.binomial(views, 0.05)
    comments = rng.binomial(views, 0.006)
    shares = rng.binomial(views, 0.003)
    saves = rng.binomial(views, np.where(ptype == 1, 0.02, 0.006))
    clicks = rng.binomial(imps, a["ctr"][idx])
    pos = rng.binomial(comments, a["pos"][idx])
    neg = rng.binomial(comments - pos, 0.35)
    video = (ptype == 0) | (ptype == 2)
    watch = np.where(
        video, np.clip(a["watch"][idx] + rng.normal(0, 0.03, len(idx)), 0.02, 0.98), np.nan
    )
    rows = {
        "post": idx,
        "platform": a["platform"][idx],
        "koc": a["koc"][idx],
        "ptype": ptype,
        "publish_t": a["publish_t"][idx],
        "imps": imps,
        "views": views,
        "watch": watch,
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "saves": saves,
        "clicks": clicks,
        "pos": pos,
        "neg": neg,
    }
    visits = rng.binomial(clicks, 0.8)
    n = int(visits.sum())
    post = np.repeat(idx, visits)
    pf = a["platform"][post].astype(np.int64)
    koc = a["koc"][post].astype(np.int64)
    pub = a["publish_t"][post]
    lo = np.maximum(pub, t0)
    start = lo + (rng.random(n) * (t1 - lo)).astype(np.int64)
    fit = np.where(koc >= 0, w.koc_fit[np.maximum(koc, 0)], 1.0)
    plat = CONTENT_PLATFORM[pf].astype(np.int8)
    plat[(pf == 0) & (rng.random(n) < 0.3)] = 2
    s = sessions(
        n,
        kind=C.T_CONTENT0 + pf,
        post=post,
        camp=np.where(koc >= 0, w.camp_seed_koc, w.camp_seed_brand),
        platform=plat,
        start=start,
        conv=CONV["content"] * fit,
    )
    assign_persona(w, rng, s, i, 0.12, 0.10)
    xhs = int(clicks[a["platform"][idx] == 1].sum())
    return {"rows": rows, "sessions": s, "xhs_clicks": xhs}


# ---------------------------------------------------------------------------------- CRM
def run_crm(w, i: int, rng: np.random.Generator) -> dict:
    t0 = w.t_start + i * DAY
    t1 = t0 + DAY
    P = w.P
    n = P.n
    elig = (P.reg_t[:n] != NAT) & ~P.deleted[:n] & ~P.optout[:n]
    pick = elig & ((rng.random(n) < 0.025 * w.factor(i) ** 0.5) | P.heavy[:n])
    person = np.nonzero(pick)[0]
    m = len(person)
    wc = P.wecom[person]
    r = rng.random(m)
    p_w = np.array([0.25, 0.40, 0.20, 0.08, 0.07]).cumsum()
    p_n = np.array([0.45, 0.0, 0.30, 0.13, 0.12]).cumsum()
    ch = np.where(wc, np.searchsorted(p_w, r * p_w[-1]), np.searchsorted(p_n, r * p_n[-1]))
    ch = np.minimum(ch, 4).astype(np.int8)
    k = rng.integers(0, 3, m)
    camp_codes = np.array([w.crm_campaign(i, j) for j in range(3)])
    ctype = np.array([(i + j) % len(C.CRM_CONTENT) for j in range(3)])[k]
    sent = t0 + np.array([10, 12, 20])[k] * 3600 + rng.integers(0, 1800, m)
    delivered = rng.random(m) < CRM_DELIVERED[ch]
    opened = delivered & (rng.random(m) < CRM_OPEN[ch])
    clicked = opened & (rng.random(m) < CRM_CLICK[ch])
    open_t = np.where(opened, sent + rng.exponential(3 * 3600, m).astype(np.int64) + 5, NEVER)
    click_t = np.where(clicked, open_t + rng.exponential(600, m).astype(np.int64) + 5, NEVER)
    seq = np.arange(w.touch_seq, w.touch_seq + m)
    w.touch_seq += m
    today = {
        "seq": seq,
        "person": person,
        "camp": camp_codes[k],
        "ch": ch,
        "sent": sent,
        "delivered": delivered,
        "open_t": open_t,
        "click_t": click_t,
        "ctype": ctype,
    }
    w.ref(person, sent)
    reports = [today]
    clicks = [today]
    keep = []
    for pt in w.pending_touch_reports:
        ev = ((pt["open_t"] >= t0) & (pt["open_t"] < t1)) | (
            (pt["click_t"] >= t0) & (pt["click_t"] < t1)
        )
        if ev.any():
            reports.append({k2: v[ev] for k2, v in pt.items()})
            w.ref(pt["person"][ev], t0)
        clicks.append(pt)
        later = (pt["open_t"] >= t1) & (pt["open_t"] < NEVER) | (pt["click_t"] >= t1) & (
            pt["click_t"] < NEVER
        )
        if later.any():
            keep.append({k2: v[later] for k2, v in pt.items()})
    later = ((open_t >= t1) & (open_t < NEVER)) | ((click_t >= t1) & (click_t < NEVER))
    if later.any():
        keep.append({k2: v[later] for k2, v in today.items()})
    w.pending_touch_reports = keep
    rep = {k2: np.concatenate([r2[k2] for r2 in reports]) for k2 in today}
    rep["open_t"] = np.where(rep["open_t"] < t1, rep["open_t"], NEVER)
    rep["click_t"] = np.where(rep["click_t"] < t1, rep["click_t"], NEVER)
    # Clicks today become private-traffic visits of a logged-in customer.
    cl = {k2: np.concatenate([c[k2] for c in clicks]) for k2 in ("person", "ch", "camp", "click_t")}
    cm = (cl["click_t"] >= t0) & (cl["click_t"] < t1)
    per = cl["person"][cm]
    keepers = ~P.deleted[per]
    per = per[keepers]
    chc = cl["ch"][cm][keepers].astype(np.int64)
    s = sessions(
        len(per),
        person=per,
        kind=C.T_CRM0 + chc,
        camp=cl["camp"][cm][keepers],
        platform=CRM_PLATFORM[chc],
        start=cl["click_t"][cm][keepers],
        conv=CONV["private"],
        geo=P.geo[per],
    )
    return {"rows": rep, "sessions": s}


# ------------------------------------------------------------------------ other visits
def run_visits(w, i: int, rng: np.random.Generator) -> tuple[dict, list]:
    """Organic search, direct visits, returning prospects, referrals, repurchases, bounces.

    Returns the sessions and the marketplace repurchases (person indices and times).
    """
    t0 = w.t_start + i * DAY
    t1 = t0 + DAY
    F = w.factor(i)
    P = w.P
    n = P.n
    parts = []
    # Organic search.
    k = int(rng.poisson(1200 * w.V * F))
    s = sessions(
        k,
        kind=C.T_SEARCH,
        platform=rng.choice([1, 3, 2], k, p=[0.5, 0.3, 0.2]),
        start=t0 + w.intraday(rng, k),
        conv=CONV["search"],
    )
    assign_persona(w, rng, s, i, 0.3, 0.08)
    parts.append(s)
    # Customers dropping by (direct).
    pool = w.cust_pool
    vis = pool[rng.random(len(pool)) < 0.02 * F**0.5]
    k = len(vis)
    plat = np.where(rng.random(k) < 0.8, P.home[vis], rng.integers(0, 4, k))
    parts.append(
        sessions(
            k,
            person=vis,
            kind=C.T_DIRECT,
            platform=plat,
            start=t0 + w.intraday(rng, k),
            conv=CONV["direct"],
            geo=P.geo[vis],
        )
    )
    # Returning prospects, always on their home device (so the day they register, the
    # warehouse can stitch their earlier anonymous visits to them).
    ret_p = P.ret_p[:n]
    back = np.nonzero((ret_p > 0) & (P.reg_t[:n] == NAT) & (rng.random(n) < ret_p))[0]
    P.ret_p[back] *= 0.7
    k = len(back)
    r = rng.random(k)
    kind = np.select(
        [r < 0.4, r < 0.65, r < 0.8],
        [C.T_DIRECT, 1 + rng.integers(0, 3, k), C.T_CONTENT0 + P.home[back] % 4],
        C.T_SEARCH,
    ).astype(np.int16)
    camp = np.full(k, -1, np.int32)
    paid = (kind >= 1) & (kind <= 3)
    for p in range(3):
        mm = kind == 1 + p
        camp[mm] = rng.choice(w.ad_camp[p], int(mm.sum()))
    camp[(kind >= C.T_CONTENT0) & (kind < C.T_SEARCH)] = w.camp_seed_brand
    post = np.full(k, -1, np.int32)
    cm = (kind >= C.T_CONTENT0) & (kind < C.T_SEARCH)
    if cm.any() and w.post_ids:
        post[cm] = rng.integers(max(0, len(w.post_ids) - 200), len(w.post_ids), int(cm.sum()))
        kind[cm] = C.T_CONTENT0 + np.concatenate(w.posts.platform)[post[cm]]
    conv = np.where(paid, CONV["paid"], CONV["content"]) * 1.5
    parts.append(
        sessions(
            k,
            person=back,
            kind=kind,
            camp=camp,
            post=post,
            platform=P.home[back],
            start=t0 + w.intraday(rng, k),
            conv=conv,
            geo=P.geo[back],
        )
    )
    # Friends arriving through yesterday's share links (social fission).
    if w.shares_prev is not None and len(w.shares_prev["person"]):
        sp = w.shares_prev
        act = sp["activity"]
        nv = rng.poisson(np.array([0.9, 1.6, 1.1])[act])
        inviter = np.repeat(sp["person"], nv)
        act = np.repeat(act, nv)
        k = len(inviter)
        s = sessions(
            k,
            kind=C.T_SOCIAL0 + act,
            referrer=inviter,
            camp=np.array(w.camp_social)[act],
            platform=0,
            start=t0 + w.intraday(rng, k),
            conv=CONV["social"] * np.array([0.9, 1.4, 1.0])[act],
        )
        assign_persona(w, rng, s, i, 0.0, 0.15)
        parts.append(s)
    # Planned repurchases (pulled forward around the promotion).
    nt = P.next_t[:n]
    due = (nt >= t0) & (nt < t1) & ~P.deleted[:n]
    pull = {0: 0.35, -1: 0.1, -2: 0.06, -3: 0.05}.get(i - w.promo_day, 0.0)
    if pull:
        early = (nt >= t1) & (nt < t1 + 10 * DAY) & ~P.deleted[:n] & (rng.random(n) < pull)
        P.next_t[np.nonzero(early)[0]] = t0 + w.intraday(rng, int(early.sum()))
        due |= early
    buyers = np.nonzero(due)[0]
    when = P.next_t[buyers]
    on_mkt = (rng.random(len(buyers)) < P.mkt_pref[buyers]) | (P.reg_t[buyers] == NAT)
    ob = buyers[~on_mkt]
    k = len(ob)
    r = rng.random(k)
    kind = np.where(r < 0.7, C.T_DIRECT, np.where(r < 0.9, C.T_SEARCH, C.T_OTHER))
    start = np.maximum(when[~on_mkt] - rng.integers(60, 900, k), t0)
    parts.append(
        sessions(
            k,
            person=ob,
            kind=kind,
            platform=P.home[ob],
            start=start,
            force=True,
            conv=1.0,
            geo=P.geo[ob],
        )
    )
    # One-page bounces of strangers.
    k = int(rng.poisson(14_000 * w.scale.bounce * F))
    r = rng.random(k)
    kind = np.where(r < 0.5, C.T_DIRECT, np.where(r < 0.8, C.T_SEARCH, C.T_OTHER))
    parts.append(
        sessions(
            k,
            kind=kind,
            platform=rng.integers(0, 4, k),
            bounce=True,
            start=t0 + w.intraday(rng, k),
            geo=rng.choice(len(C.GEO), k, p=w.geo_p),
        )
    )
    # Queued visits from yesterday's late-evening clicks land today.
    parts.extend(w.pending_sessions.pop(i, []))
    return concat(parts), [buyers[on_mkt], when[on_mkt]]


def hex_anon(person: np.ndarray, platform: np.ndarray) -> np.ndarray:
    return mix64(person.astype(np.uint64) * np.uint64(8) + platform.astype(np.uint64), 3)
