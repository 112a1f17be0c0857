"""_truth.json's customers part (cohorts, repeat customers, brand-tracker respondents) agrees
with the same figures recomputed from the raw files by plain readers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from .readers import day_folders, read_csv
from .test_truth import latest_orders


def paid_orders_of_customers(root: Path, truth: dict) -> list[tuple[str, dt.date, float]]:
    """(customer_id, payment date, net revenue) of every loadable paid order with a customer."""
    return sorted(
        (
            o["customer_id"],
            dt.date.fromisoformat(o["paid_at"][:10]),
            float(o["paid_amount"]) - float(o["refund_amount"] or 0),
        )
        for o in latest_orders(root, truth).values()
        if o["paid_at"] and o["customer_id"]
    )


@pytest.mark.parametrize("zone", ["clean_zone", "faulty_zone"])
def test_repeat_customers_and_cohorts_are_those_of_the_raw_orders(zone, request):
    root, truth = request.getfixturevalue(zone)
    orders = paid_orders_of_customers(root, truth)
    expected_repeat = {}
    for day in truth["customers"]["repurchase"]:
        date = dt.date.fromisoformat(day)
        counts: dict[str, int] = defaultdict(int)
        for customer, paid, _ in orders:
            if date - dt.timedelta(days=364) <= paid <= date:
                counts[customer] += 1
        expected_repeat[day] = (len(counts), sum(1 for n in counts.values() if n >= 2))
    got = {
        d: (v["customers"], v["repeat_customers"])
        for d, v in truth["customers"]["repurchase"].items()
    }
    assert got == expected_repeat
    assert any(repeat for _, repeat in got.values())

    first = {}
    for customer, paid, _ in orders:
        first.setdefault(customer, paid)
    cohorts = truth["customers"]["cohort_retention"]
    sizes: dict[str, int] = defaultdict(int)
    for paid in first.values():
        sizes[str(paid.replace(day=1))] += 1
    assert {m: months["0"]["cohort_size"] for m, months in cohorts.items()} == sizes
    revenue = sum(net for _, _, net in orders)
    last = {m: months[str(max(map(int, months)))] for m, months in cohorts.items()}
    assert sum(v["cumulative_net_revenue"] for v in last.values()) == pytest.approx(
        revenue, abs=0.05
    )


def test_brand_tracker_respondents_are_those_of_the_raw_responses(clean_zone):
    root, truth = clean_zone
    per_day = {}
    for folder in day_folders(root, "surveys"):
        _, rows = read_csv(folder / "responses.csv")
        per_day[folder.name] = sum(1 for r in rows if r["survey"] == "brand_tracker")
    awareness = truth["customers"]["brand"]["aided_awareness"]
    assert {d: v["respondents"] for d, v in awareness.items()} == per_day
    assert all(0 < v["probability"] < 1 for v in awareness.values())
