"""The simulated world: static dimensions, calendar and the state carried from day to day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from . import config as C
from .io import DAY, NAT
from .persons import Persons

HOUR_W = np.array(
    [
        0.6,
        0.35,
        0.2,
        0.15,
        0.15,
        0.2,
        0.4,
        0.8,
        1.2,
        1.5,
        1.7,
        1.8,
        1.9,
        1.7,
        1.6,
        1.6,
        1.6,
        1.7,
        1.9,
        2.2,
        2.6,
        2.8,
        2.4,
        1.4,
    ]
)
HOUR_P = HOUR_W / HOUR_W.sum()
DOW = np.array([0.95, 0.93, 0.95, 0.98, 1.05, 1.12, 1.08])  # Monday first

# Phase ids: every phase draws from its own stream so that one source's randomness never shifts
# another's (products and orders stay stable when a later source changes).
PH_DIMS, PH_INIT, PH_ADS, PH_CONTENT, PH_CRM, PH_SESS, PH_EVENTS, PH_MKT, PH_ORDERS = range(9)
PH_SUPPLY, PH_CUST, PH_LOYAL, PH_SURVEY, PH_LISTEN, PH_MESS, PH_FAULTS = range(9, 15 + 1)


def epoch_seconds(d: dt.date) -> int:
    """Naive local midnight as seconds: all times are Asia/Shanghai wall-clock seconds."""
    return (d - dt.date(1970, 1, 1)).days * DAY


@dataclass
class Posts:
    """Every content post, brand-owned or by a KOC, published so far."""

    platform: list[np.ndarray] = field(default_factory=list)
    koc: list[np.ndarray] = field(default_factory=list)
    ptype: list[np.ndarray] = field(default_factory=list)
    publish_t: list[np.ndarray] = field(default_factory=list)
    reach: list[np.ndarray] = field(default_factory=list)
    ctr: list[np.ndarray] = field(default_factory=list)
    watch: list[np.ndarray] = field(default_factory=list)
    pos: list[np.ndarray] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) if v else np.zeros(0) for k, v in self.__dict__.items()}


class World:
    def __init__(self, scale: C.Scale, start: dt.date, days: int, seed: int) -> None:
        self.scale = scale
        self.start = start
        self.days = days
        self.seed = seed
        self.V = scale.volume
        self.t_start = epoch_seconds(start)
        self.t_end = self.t_start + days * DAY
        self.promo_day = self._pick_promo_day()
        self._dims()
        self._init_people()
        self.post_ids: list[str] = []
        self.posts = Posts()
        self.pending_sessions: dict[int, list[dict[str, np.ndarray]]] = {}
        self.pending_touch_reports: list[dict[str, np.ndarray]] = []
        self.shares_prev: dict[str, np.ndarray] | None = None
        self.order_seq = 0
        self.session_seq = 0
        self.touch_seq = 0
        self.ledger_seq = 0
        self.response_seq = 0
        self.referral_seq = 0
        self.po_seq = 0
        self.cum_impressions = 0.0
        # truth of attribution: touch sessions of the last 31 days by day, and each session
        # order's path (orders/_truth.json "path")
        self.touch_log: dict[int, dict[str, np.ndarray]] = {}
        self.truth_paths: dict[int, np.ndarray] = {}
        self._refs_p: list[np.ndarray] = []
        self._refs_t: list[np.ndarray] = []

    # ----------------------------------------------------------------- randomness and calendar
    def rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *[k + 1000 for k in key]])

    def date(self, i: int) -> dt.date:
        return self.start + dt.timedelta(days=i)

    def _pick_promo_day(self) -> int:
        for i in range(self.days):
            d = self.start + dt.timedelta(days=i)
            if (d.month, d.day) in ((6, 18), (11, 11)):
                return i
        # Without 618 / Double 11 in range, a brand-day promotion mid-window; a window shorter
        # than a week has none (a short run then shows an ordinary day).
        return self.days // 2 if self.days >= 7 else -10

    def factor(self, i: int) -> float:
        """Demand multiplier of day i: day of week, paydays, and the promotion peak."""
        d = self.date(i)
        f = DOW[d.weekday()]
        if d.day in (10, 15):
            f *= 1.10
        elif d.day in (11, 16):
            f *= 1.05
        gap = i - self.promo_day
        f *= {-3: 1.3, -2: 1.5, -1: 1.8, 0: 3.0, 1: 1.4}.get(gap, 1.0)
        return float(f)

    def promo_discount(self, i: int) -> float:
        gap = i - self.promo_day
        return {-3: 0.05, -2: 0.05, -1: 0.05, 0: 0.15, 1: 0.10}.get(gap, 0.0)

    def intraday(self, rng: np.random.Generator, n: int) -> np.ndarray:
        hours = rng.choice(24, size=n, p=HOUR_P)
        return hours.astype(np.int64) * 3600 + rng.integers(0, 3600, size=n)

    # ----------------------------------------------------------------------- static dimensions
    def _dims(self) -> None:
        rng = self.rng(PH_DIMS)
        s = self.scale
        geo_w = np.array([g[2] for g in C.GEO])
        self.geo_p = geo_w / geo_w.sum()
        self.geo_region = np.array([g[3] for g in C.GEO])

        # Suppliers.
        ns = s.suppliers
        self.sup_region = rng.integers(0, 5, ns)
        self.sup_kind = rng.integers(0, 5, ns)
        self.sup_tier = rng.choice(3, ns, p=[0.2, 0.4, 0.4])
        self.sup_cert = rng.random(ns) < 0.85
        self.sup_terms = rng.choice([30, 45, 60, 90], ns)
        has_backup = rng.random(ns) < 0.6
        backup = (np.arange(ns) + rng.integers(1, max(ns, 2), ns)) % ns
        self.sup_backup = np.where(has_backup & (backup != np.arange(ns)), backup, -1)
        self.sup_lead = rng.integers(7, 31, ns)  # nominal lead time, days
        # P(a PO arrives late): real suppliers range from nearly always on time to late on
        # every other order. One uniform draw per supplier, as before (the range only scales
        # it), so the draws after it, and everything they shape, stay as they were.
        self.sup_late_p = rng.uniform(0.02, 0.5, ns)
        self.sup_production = self.sup_kind == 3  # contract manufacturers run production orders

        # Products: SPUs of 1-4 sizes.
        n = s.skus
        spu_sizes = rng.integers(1, 5, n)
        spu = np.repeat(np.arange(n), spu_sizes)[:n]
        self.sku_spu = spu
        spu_cat = rng.choice(len(C.CATEGORIES), n, p=[0.18, 0.2, 0.2, 0.17, 0.15, 0.10])
        spu_series = rng.integers(0, len(C.SERIES), n)
        self.sku_cat = spu_cat[spu]
        self.sku_series = spu_series[spu]
        size_rank = np.arange(n) - np.searchsorted(spu, spu)  # position within SPU
        self.sku_size = size_rank
        size_f = np.array([1.0, 0.6, 1.6, 2.2])[size_rank]
        base = np.array(C.CATEGORY_PRICE)[self.sku_cat] * size_f * rng.uniform(0.85, 1.2, n)
        self.sku_price = (np.maximum(np.round(base / 10) * 10 - 1, 9) * 100).astype(np.int64)
        self.sku_cost = (self.sku_price * rng.uniform(0.22, 0.38, n)).astype(np.int64)
        launch = rng.integers(-1000, -30, n)
        new = rng.random(n) < (0.05 if self.days >= 3 else 0.0)
        launch[new] = rng.integers(1, max(self.days, 2), new.sum())
        self.sku_launch = launch  # day index
        self.sku_disc = (~new) & (rng.random(n) < 0.03)
        self.sku_supplier = rng.integers(0, ns, n)
        self.sku_shelf = np.where(self.sku_cat == 3, 540, rng.choice([730, 1095], n))
        pop = 1.0 / np.arange(1, n + 1) ** 1.05
        self.sku_pop = rng.permutation(pop)
        self.sku_ids = [f"SKU{k:05d}" for k in range(n)]
        self.sku_id_arr = np.array(self.sku_ids)

        # Warehouses.
        self.n_wh = s.warehouses
        self.wh_ids = ["WH_SH", "WH_GZ", "WH_BJ", "WH_CD", "WH_WH", "WH_SY"][: self.n_wh]

        # KOCs.
        nk = s.kocs
        self.koc_platform = rng.choice(4, nk, p=[0.4, 0.4, 0.12, 0.08])
        self.koc_followers0 = np.minimum(
            (3000 * (1 + rng.pareto(1.05, nk))).astype(np.int64), 8_000_000
        )
        self.koc_growth = rng.uniform(-0.0005, 0.004, nk)
        self.koc_cat = rng.choice(len(C.KOC_CATEGORIES), nk, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
        self.koc_geo = rng.choice(len(C.GEO), nk, p=self.geo_p)
        self.koc_coop = rng.choice(3, nk, p=[0.2, 0.5, 0.3])
        fee = self.koc_followers0 * 0.02 * rng.lognormal(0, 0.3, nk)
        self.koc_fee = np.where(self.koc_coop == 2, 0, np.round(fee)).astype(np.int64) * 100
        self.koc_comm = np.round(
            np.where(
                self.koc_coop == 2,
                rng.uniform(0.1, 0.25, nk),
                np.where(self.koc_coop == 0, 0.05, 0.0),
            ),
            3,
        )
        joined = rng.integers(-900, -1, nk)
        late = rng.random(nk) < (0.1 if self.days > 2 else 0.0)
        joined[late] = rng.integers(1, max(self.days, 2), late.sum())
        self.koc_joined = joined
        self.koc_rate = np.array([0.3, 0.1, 0.2])[self.koc_coop] * rng.uniform(0.6, 1.4, nk)
        self.koc_fit = np.array([C.KOC_CATEGORY_FIT[c] for c in C.KOC_CATEGORIES])[self.koc_cat]
        self.koc_ids = [f"KOC{k:04d}" for k in range(nk)]
        syll = ["小", "阿", "甜", "桃", "鹿", "橙", "雪", "糖", "柚", "星", "月", "可", "米", "朵"]
        self.koc_nick = [
            syll[a] + syll[b] + ("酱", "呀", "的日常", "测评", "Lab")[c]
            for a, b, c in zip(
                rng.integers(0, 14, nk),
                rng.integers(0, 14, nk),
                rng.integers(0, 5, nk),
                strict=True,
            )
        ]
        # Content reach is normalised so a scale's content traffic matches its customer base.
        exp_daily_reach = float((self.koc_rate * self.koc_followers0 * 0.35).sum()) + 4 * 60_000
        self.content_ctr_norm = 2_000.0 * self.V / (exp_daily_reach * 0.006)

        # Ad campaigns per platform (0 qianchuan, 1 juguang, 2 tencent).
        nc = s.campaigns_per_platform
        self.camp_names: list[str] = []  # every utm_campaign value; index = campaign code
        self.ad_camp: list[np.ndarray] = []
        self.ad_budget: list[np.ndarray] = []
        self.ad_label: list[list[str]] = []
        themes = ["新品种草", "大促收割", "拉新", "复购召回", "直播间引流", "品牌曝光"]
        pf_cn = ["千川", "聚光", "腾讯"]
        totals = np.array([6500.0, 3500.0, 3000.0]) * self.V
        for p in range(3):
            ids = []
            for _ in range(nc):
                if p == 0:
                    ids.append(f"17{int(rng.integers(10**13, 10**14)):d}")
                elif p == 1:
                    ids.append(f"jg{int(rng.integers(10**9, 10**10)):d}")
                else:
                    ids.append(f"{int(rng.integers(10**7, 10**8)):d}")
            codes = np.arange(len(self.camp_names), len(self.camp_names) + nc)
            self.camp_names.extend(ids)
            self.ad_camp.append(codes)
            self.ad_budget.append(totals[p] * rng.dirichlet(np.ones(nc) * 2))
            self.ad_label.append(
                [f"{pf_cn[p]}-{themes[int(rng.integers(0, 6))]}-{k + 1:02d}" for k in range(nc)]
            )
        self.ad_cpm = np.array([38.0, 60.0, 26.0])
        self.ad_ctr = np.array([0.016, 0.013, 0.009])
        self.camp_seed_koc = self._camp("koc_seeding")
        self.camp_seed_brand = self._camp("brand_content")
        self.camp_social = [
            self._camp(x) for x in ("fission_assist", "fission_groupbuy", "fission_coupon")
        ]
        self.camp_search = -1
        self.crm_camp_cache: dict[tuple[int, int], int] = {}

    def _camp(self, name: str) -> int:
        self.camp_names.append(name)
        return len(self.camp_names) - 1

    def crm_campaign(self, i: int, k: int) -> int:
        key = (i, k)
        if key not in self.crm_camp_cache:
            self.crm_camp_cache[key] = self._camp(f"CRM{self.date(i):%y%m%d}{k:02d}")
        return self.crm_camp_cache[key]

    # ------------------------------------------------------------------------- initial people
    def _init_people(self) -> None:
        rng = self.rng(PH_INIT)
        n = self.scale.customers
        self.P = Persons(int(n * 1.3) + 10_000)
        reg_days = rng.integers(-1100, -1, n)
        reg_t = self.t_start + reg_days.astype(np.int64) * DAY + rng.integers(0, DAY, n)
        cycle = np.exp(rng.normal(np.log(C.REPURCHASE_MEDIAN_DAYS), C.REPURCHASE_SIGMA, n))
        alive = rng.random(n) < 0.72
        next_t = np.where(alive, self.t_start + (rng.random(n) * cycle * DAY).astype(np.int64), NAT)
        self.P.add(
            n,
            born=reg_days,
            reg_t=reg_t,
            home=rng.choice(4, n, p=[0.55, 0.25, 0.12, 0.08]),
            geo=rng.choice(len(C.GEO), n, p=self.geo_p),
            gender=rng.choice(3, n, p=[0.78, 0.18, 0.04]),
            byear=rng.integers(1965, 2006, n),
            reg_ch=rng.choice(
                len(C.REGISTER_CHANNELS), n, p=[0.35, 0.12, 0.08, 0.18, 0.1, 0.07, 0.1]
            ),
            tier=rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05]),
            wecom=rng.random(n) < 0.35,
            optout=rng.random(n) < 0.06,
            next_t=next_t,
            cycle=cycle,
            mkt_pref=rng.beta(2.2, 1.8, n),
            mkt_store=rng.choice(4, n, p=[0.45, 0.25, 0.12, 0.18]),
            member=rng.random(n) < 0.55,
            heavy=rng.random(n) < 0.015,
        )
        self.P.spend[:n] = np.array(C.TIER_SPEND)[self.P.tier[:n]] + rng.integers(0, 400, n)

    # --------------------------------------------------------------------- person references
    def ref(self, persons: np.ndarray, times: np.ndarray) -> None:
        """Records that a customer id was used today; their CRM record is exported if new."""
        m = persons >= 0
        self._refs_p.append(np.asarray(persons)[m].astype(np.int64))
        self._refs_t.append(np.broadcast_to(times, np.shape(persons))[m].astype(np.int64))

    def take_refs(self) -> tuple[np.ndarray, np.ndarray]:
        p = np.concatenate(self._refs_p) if self._refs_p else np.zeros(0, np.int64)
        t = np.concatenate(self._refs_t) if self._refs_t else np.zeros(0, np.int64)
        self._refs_p, self._refs_t = [], []
        return p, t

    def new_cycle_gap(self, rng: np.random.Generator, persons: np.ndarray) -> np.ndarray:
        k = C.REPURCHASE_GAMMA_SHAPE
        mean = self.P.cycle[persons].astype(np.float64)
        return (rng.gamma(k, mean / k) * DAY).astype(np.int64) + 3600
