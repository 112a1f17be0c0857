"""The truth of the private domain and of KOC content (`_truth.json` keys `crm` and `koc`):
what mart_crm_fatigue, mart_crm_chain_daily and mart_koc_scorecard must find.

The touches recorded are those the warehouse can load: a touch counts once one of its reports
lands in a folder that is not quarantined (the send day's, or a later day's re-report once it
was opened or clicked).
"""

from __future__ import annotations

import numpy as np

from . import config as C
from .io import DAY

# The fatigue rule of the warehouse's seed (crm_thresholds): throttled from the 7th
# consecutive day touched.
FATIGUE_THROTTLE_DAYS = 7


class CrmTruth:
    """Collects each day's loadable touch reports while the simulation runs."""

    def __init__(self) -> None:
        # touch seq -> (person, send day, channel, delivered)
        self.touches: dict[int, tuple[int, int, int, bool]] = {}

    def record(self, w, rows: dict, loadable: bool) -> None:
        """One day's touch reports (today's sends and re-reports of earlier ones)."""
        if not loadable:
            return
        days = (rows["sent"] - w.t_start) // DAY
        for seq, person, day, ch, delivered in zip(
            rows["seq"].tolist(),
            rows["person"].tolist(),
            days.tolist(),
            rows["ch"].tolist(),
            rows["delivered"].tolist(),
            strict=True,
        ):
            self.touches[seq] = (person, day, ch, bool(delivered))

    def truth(self, w, rates: dict[str, list[float]]) -> dict:
        touched: dict[int, set[int]] = {i: set() for i in range(w.days)}
        sent = np.zeros((w.days, len(C.CRM_CHANNELS)), np.int64)
        delivered = np.zeros((w.days, len(C.CRM_CHANNELS)), np.int64)
        for person, day, ch, dlv in self.touches.values():
            if 0 <= day < w.days:
                touched[day].add(person)
                sent[day, ch] += 1
                delivered[day, ch] += dlv
        streak: dict[int, int] = {}
        consecutive: dict[str, dict[str, int]] = {}
        throttled: dict[str, list[str]] = {}
        for i in range(w.days):
            streak = {p: streak.get(p, 0) + 1 for p in touched[i]}
            date = str(w.date(i))
            consecutive[date] = {_cid(p): n for p, n in sorted(streak.items()) if n >= 2}
            throttled[date] = [
                _cid(p) for p, n in sorted(streak.items()) if n >= FATIGUE_THROTTLE_DAYS
            ]
        return {
            "fatigue_throttle_days": FATIGUE_THROTTLE_DAYS,
            "throttled": throttled,
            "consecutive_days": consecutive,
            "rates_by_channel": {
                channel: {
                    "reach_rate": rates["delivered"][k],
                    "open_rate": rates["open"][k],
                    "click_rate": round(rates["open"][k] * rates["click_given_open"][k], 6),
                }
                for k, channel in enumerate(C.CRM_CHANNELS)
            },
            "sent": {
                str(w.date(i)): {
                    channel: [int(sent[i, k]), int(delivered[i, k])]
                    for k, channel in enumerate(C.CRM_CHANNELS)
                    if sent[i, k]
                }
                for i in range(w.days)
            },
        }


def koc_truth(w, orders: dict[str, dict]) -> dict:
    """For each KOC, the orders and gmv of the paid orders whose true last touch was a visit
    from one of its posts."""
    koc_of_post = np.concatenate(w.posts.koc) if w.posts.koc else np.zeros(0, np.int64)
    post_index = {post: k for k, post in enumerate(w.post_ids)}
    gmv: dict[str, float] = {}
    count: dict[str, int] = {}
    for order in orders.values():
        path = order.get("path")
        if not path or not path[-1]["post_id"]:
            continue
        koc = int(koc_of_post[post_index[path[-1]["post_id"]]])
        if koc < 0:
            continue
        koc_id = w.koc_ids[koc]
        gmv[koc_id] = gmv.get(koc_id, 0.0) + order["gmv"]
        count[koc_id] = count.get(koc_id, 0) + 1
    return {
        "last_touch": {
            koc_id: {"orders": count[koc_id], "gmv": round(gmv[koc_id], 2)}
            for koc_id in sorted(gmv)
        }
    }


def _cid(person: int) -> str:
    """The CRM customer_id of a person (sources.py writes 'C' and nine digits)."""
    return f"C{person:09d}"
