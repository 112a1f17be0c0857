"""Customers and brand marts against the simulator's truth, on the end-to-end zone
(tests/pipeline/conftest.py): cohort retention and the repeat-customer rate exactly, NPS and
aided awareness within sampling error, an erased customer reduced to key and flag, and the CLV
mart over every customer."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math

import duckdb
import pytest

from tests.pipeline.e2e import END, PII_KEY, query

# |mart - truth| within this many standard errors of the sample (99.7% of samples)
SAMPLING_Z = 3.0
WINDOW_DAYS = 14


def test_cohort_retention_is_the_true_one(simulated_run):
    settings, truth, _ = simulated_run
    expected = {
        (dt.date.fromisoformat(month), int(since)): (
            row["cohort_size"],
            row["active_customers"],
            pytest.approx(row["cumulative_net_revenue"], abs=0.005),
        )
        for month, months in truth["customers"]["cohort_retention"].items()
        for since, row in months.items()
    }
    rows = query(
        settings,
        "select month_start, months_since_first_order, cohort_size, active_customers, "
        "cumulative_net_revenue, retention_rate, cumulative_net_revenue_per_customer "
        "from marts.mart_cohort_retention",
    )
    assert expected
    got = {(r[0], r[1]): (r[2], r[3], float(r[4])) for r in rows}
    assert got == expected
    for _, _, size, active, revenue, rate, per_customer in rows:
        assert rate == pytest.approx(active / size, abs=1e-6)
        assert per_customer == pytest.approx(float(revenue) / size, abs=1e-6)


def test_repeat_customer_rate_is_the_true_one(simulated_run):
    settings, truth, _ = simulated_run
    expected = {
        dt.date.fromisoformat(day): (row["customers"], row["repeat_customers"])
        for day, row in truth["customers"]["repurchase"].items()
    }
    rows = query(
        settings,
        "select date_day, customers, repeat_customers, repeat_customer_rate "
        "from marts.mart_repurchase_daily",
    )
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert expected[END][1] > 0, "the zone should hold repeat customers"
    for _, customers, repeat, rate in rows:
        assert rate == pytest.approx(repeat / customers, abs=1e-6)
    # the brand radar's loyalty reads the same rate
    brand = dict(
        query(settings, "select date_day, repeat_customer_rate from marts.mart_brand_health_daily")
    )
    assert brand == {r[0]: r[3] for r in rows}


def test_aided_awareness_is_the_true_one_within_sampling_error(simulated_run):
    settings, truth, _ = simulated_run
    days = {
        dt.date.fromisoformat(d): (v["probability"], v["respondents"])
        for d, v in truth["customers"]["brand"]["aided_awareness"].items()
    }
    rows = query(
        settings,
        "select date_day, aided_awareness_rate, tracker_responses "
        "from marts.mart_brand_health_daily order by date_day",
    )
    assert len(rows) == len(days)
    for date_day, rate, responses in rows:
        window = [
            days[d] for d in days if date_day - dt.timedelta(days=WINDOW_DAYS - 1) <= d <= date_day
        ]
        n = sum(count for _, count in window)
        assert responses == n
        # respondents of different days were aware with different probabilities
        p = sum(prob * count for prob, count in window) / n
        standard_error = math.sqrt(sum(prob * (1 - prob) * count for prob, count in window)) / n
        assert abs(rate - p) <= SAMPLING_Z * standard_error, (date_day, rate, p)


def test_nps_is_the_true_one_within_sampling_error(simulated_run):
    settings, truth, _ = simulated_run
    probabilities = truth["parameters"]["nps"]["score_probabilities"]
    true_nps = truth["parameters"]["nps"]["true_nps"]
    promoters, detractors = sum(probabilities[9:]), sum(probabilities[:7])
    # one response scores +100, 0 or -100: its variance
    variance = 100**2 * (promoters + detractors) - (100 * (promoters - detractors)) ** 2
    rows = query(
        settings,
        "select date_day, nps, nps_responses from marts.mart_brand_health_daily "
        "where nps_responses > 0",
    )
    assert rows, "no NPS response in the zone"
    assert max(n for _, _, n in rows) >= 20
    for date_day, nps, responses in rows:
        assert abs(nps - true_nps) <= SAMPLING_Z * math.sqrt(variance / responses), date_day


def test_an_erased_customer_keeps_the_key_and_the_flag_only(simulated_run):
    settings, _, erased = simulated_run
    key = hmac.new(PII_KEY.encode(), erased["customer_id"].encode(), hashlib.sha256).hexdigest()
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        cursor = con.execute("select * from marts.dim_customers where customer_key = ?", [key])
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
        # their orders stay, pseudonymous
        (orders,) = con.execute(
            "select count(*) from marts.fct_orders where customer_key = ?", [key]
        ).fetchone()
        (others,) = con.execute(
            "select count(*) from marts.dim_customers "
            "where not is_erased and first_order_date is not null "
            "and acquisition_channel is not null"
        ).fetchone()
    finally:
        con.close()
    assert row.pop("customer_key") == key
    assert row.pop("is_erased") is True
    assert set(row.values()) == {None}
    assert orders > 0
    assert others > 0


def test_customer_ltv_covers_every_customer_with_a_paid_order(simulated_run):
    settings, _, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        (customers,) = con.execute(
            "select count(distinct customer_key) from marts.fct_orders "
            "where customer_key is not null"
        ).fetchone()
        rows, as_of, bad, orders_off, channels = con.execute(
            "select count(*), max(as_of_date), "
            "count(*) filter (where p_alive not between 0 and 1 or predicted_purchases_12m < 0 "
            "or clv_12m < 0 or p_alive is null), "
            "(select count(*) from marts.mart_customer_ltv as ltv where orders <> "
            "(select count(*) from marts.fct_orders as o "
            "where o.customer_key = ltv.customer_key)), "
            "count(distinct acquisition_channel) filter (where ltv_to_cac is not null) "
            "from marts.mart_customer_ltv"
        ).fetchone()
    finally:
        con.close()
    assert rows == customers
    assert as_of == END
    assert bad == 0
    assert orders_off == 0
    # the paid channels (douyin, xiaohongshu, wechat) have a CAC, so an LTV / CAC
    assert channels >= 1
