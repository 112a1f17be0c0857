"""The customers and brand part of `_truth.json`: what mart_cohort_retention,
mart_repurchase_daily and mart_brand_health_daily must show, computed from the simulation's
own records (the paid orders as loaded, the awareness it drew respondents from), not from the
landing files.

Definitions (marts.md): a customer is a customer_id with a paid order (guests are not); their
cohort is the month of their first paid order; a date's repeat-customer rate is over the 365
days up to it; dates are Asia/Shanghai payment dates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

from .io import DAY

WINDOW_DAYS = 365


def customers_truth(w, paid: list[tuple], awareness_by_day: dict[int, tuple[float, int]]) -> dict:
    """paid: (person, has customer_id, paid time, net revenue in fen) arrays of every loaded
    paid order; awareness_by_day: day index -> (aided awareness probability, brand-tracker
    respondents drawn)."""
    orders = _customer_orders(w, paid)
    return {
        "cohort_retention": _cohort_retention(orders),
        "repurchase": _repurchase(w, orders),
        "brand": {
            "aided_awareness": {
                str(w.date(i)): {"probability": round(p, 6), "respondents": n}
                for i, (p, n) in sorted(awareness_by_day.items())
            },
        },
        "definitions": {
            "cohort_retention": "month of a customer_id's first paid order -> months since -> "
            "cohort_size, active_customers (customers of the cohort with a paid order in that "
            "month), cumulative_net_revenue (the cohort's net revenue through that month)",
            "repurchase": "per date: customers with >= 1 and >= 2 paid orders in the 365 days "
            "up to it (payment dates)",
            "brand.aided_awareness": "per survey date: the probability a brand-tracker "
            "respondent was aware of the brand when prompted, and how many were drawn",
        },
    }


def _customer_orders(w, paid: list[tuple]) -> list[tuple[int, dt.date, int]]:
    """(person, payment date, net revenue in fen) of the paid orders of customers, sorted."""
    rows = []
    for person, has_cid, paid_t, net in paid:
        keep = has_cid & (person >= 0)
        days = (paid_t[keep] - w.t_start) // DAY
        for p, d, n in zip(person[keep].tolist(), days.tolist(), net[keep].tolist(), strict=True):
            rows.append((p, w.start + dt.timedelta(days=d), n))
    rows.sort()
    return rows


def _months_between(first: dt.date, later: dt.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def _cohort_retention(orders: list[tuple[int, dt.date, int]]) -> dict:
    if not orders:
        return {}
    first: dict[int, dt.date] = {}
    for person, day, _ in orders:
        first.setdefault(person, day)
    last_month = max(day for _, day, _ in orders).replace(day=1)
    active: dict[tuple[dt.date, int], set[int]] = defaultdict(set)
    revenue: dict[tuple[dt.date, int], int] = defaultdict(int)
    for person, day, net in orders:
        cohort = first[person].replace(day=1)
        since = _months_between(cohort, day)
        active[cohort, since].add(person)
        revenue[cohort, since] += net
    sizes: dict[dt.date, int] = defaultdict(int)
    for day in first.values():
        sizes[day.replace(day=1)] += 1
    out: dict[str, dict] = {}
    for cohort in sorted(sizes):
        months, cumulative = {}, 0
        for since in range(_months_between(cohort, last_month) + 1):
            cumulative += revenue.get((cohort, since), 0)
            months[str(since)] = {
                "cohort_size": sizes[cohort],
                "active_customers": len(active.get((cohort, since), ())),
                "cumulative_net_revenue": round(cumulative / 100, 2),
            }
        out[str(cohort)] = months
    return out


def _repurchase(w, orders: list[tuple[int, dt.date, int]]) -> dict:
    persons = np.array([p for p, _, _ in orders], np.int64)
    days = np.array([(d - w.start).days for _, d, _ in orders], np.int64)
    out = {}
    for i in range(w.days):
        in_window = (days <= i) & (days > i - WINDOW_DAYS)
        counts = np.unique(persons[in_window], return_counts=True)[1]
        customers, repeat = int(len(counts)), int((counts >= 2).sum())
        out[str(w.date(i))] = {
            "customers": customers,
            "repeat_customers": repeat,
            "repeat_customer_rate": round(repeat / customers, 6) if customers else None,
        }
    return out
