"""Content, KOC and private-domain marts against the simulator's truth, on the end-to-end zone
(tests/pipeline/conftest.py): the fatigue throttle list and streaks exactly, the CRM chain's
sends exactly and its rates within three standard errors of the true probabilities, and each
KOC's last-touch gmv within 1% of the true figure."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import hmac
import json
import math
import shutil

import duckdb

from tests.dbt.conftest import run_dbt
from tests.pipeline.e2e import END, PII_KEY


def query(warehouse, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def customer_key(customer_id: str) -> str:
    return hmac.new(PII_KEY.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def fatigue(warehouse) -> dict[str, dict[str, tuple[int, bool]]]:
    by_day: dict[str, dict[str, tuple[int, bool]]] = collections.defaultdict(dict)
    for day, key, streak, throttle in query(
        warehouse,
        "select date_day, customer_key, consecutive_days, throttle from marts.mart_crm_fatigue",
    ):
        by_day[day.isoformat()][key] = (streak, throttle)
    return by_day


def test_the_throttle_list_and_the_streaks_are_the_true_ones_every_day(simulated_run):
    settings, truth, _ = simulated_run
    marts = fatigue(settings.warehouse)
    crm = truth["crm"]
    assert crm["fatigue_throttle_days"] == 7
    for day, throttled in crm["throttled"].items():
        listed = {key for key, (_, throttle) in marts.get(day, {}).items() if throttle}
        assert listed == {customer_key(c) for c in throttled}, day
    for day, streaks in crm["consecutive_days"].items():
        found = {key: n for key, (n, _) in marts.get(day, {}).items() if n >= 2}
        assert found == {customer_key(c): n for c, n in streaks.items()}, day
    # the daily segment is touched every day: on the last day its streaks span the window
    assert max(crm["consecutive_days"][END.isoformat()].values()) == len(crm["throttled"])


def test_the_throttle_list_at_a_lower_threshold_is_the_true_set(simulated_run, tmp_path):
    """The window is shorter than the seed's 7 days, so no one is throttled in it: with the
    threshold lowered to 3 in a copy of the warehouse (the seed is data), the list of every
    day must be the customers truly touched 3 days in a row or more."""
    settings, truth, _ = simulated_run
    copy = tmp_path / "lower.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute(
            "update config.crm_thresholds set value = 3 where threshold = 'fatigue_throttle_days'"
        )
    finally:
        con.close()
    result = run_dbt(copy, tmp_path / "dbt", "run", "--full-refresh", "-s", "mart_crm_fatigue")
    assert result.returncode == 0, result.stdout[-3000:]
    marts = fatigue(copy)
    throttled_days = 0
    for day, streaks in truth["crm"]["consecutive_days"].items():
        listed = {key for key, (_, throttle) in marts.get(day, {}).items() if throttle}
        expected = {customer_key(c) for c, n in streaks.items() if n >= 3}
        assert listed == expected, day
        throttled_days += bool(expected)
    assert throttled_days >= 2


def test_crm_sends_by_day_and_channel_are_the_true_ones(simulated_run):
    settings, truth, _ = simulated_run
    found = {
        (day.isoformat(), channel): [sent, delivered]
        for day, channel, sent, delivered in query(
            settings.warehouse,
            "select date_day, channel, sum(sent), sum(delivered) from marts.mart_crm_chain_daily "
            "group by 1, 2",
        )
    }
    expected = {
        (day, channel): counts
        for day, channels in truth["crm"]["sent"].items()
        for channel, counts in channels.items()
    }
    assert found == expected


def test_a_payment_landed_late_converts_the_sends_in_the_window_before_it(simulated_run, tmp_path):
    """Tonight's folder brings an order paid two days after a delivered send of an earlier
    folder: the send's date gains the converter. The chain reads the touches from the
    conversion window before its first restated payment on, not from that payment's date."""
    settings, _, _ = simulated_run
    copy = tmp_path / "late.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    tonight = END + dt.timedelta(days=1)
    con = duckdb.connect(str(copy))
    try:
        # a delivered send whose customer paid nothing in the 7 days after it
        customer, sent_at, sent_date, channel, campaign = con.execute(
            "select customer_key, sent_at, sent_date, channel, campaign_id "
            "from staging.stg_crm_touches__touches as t "
            "where is_delivered and sent_date between ? and ? and not exists ("
            "  select 1 from marts.fct_orders as o where o.customer_key = t.customer_key"
            "  and o.paid_at >= t.sent_at and o.paid_at < t.sent_at + interval 7 day) "
            "order by sent_at, touch_id limit 1",
            [END - dt.timedelta(days=6), END - dt.timedelta(days=3)],
        ).fetchone()
        paid_at = sent_at + dt.timedelta(days=2)
        before = con.execute(
            "select sent, converted from marts.mart_crm_chain_daily "
            "where date_day = ? and channel = ? and campaign_id = ?",
            [sent_date, channel, campaign],
        ).fetchone()
        # tonight's orders folder: one order, paid two days after the send (the raw view over
        # the lake becomes a table of this copy, so the shared lake stays as it is)
        con.execute("create table raw.orders_landed as select * from raw.orders")
        con.execute("drop view raw.orders")
        con.execute("alter table raw.orders_landed rename to orders")
        con.execute(
            "insert into raw.orders select * replace ("
            "'late-paid-order' as order_id, null as customer_id, ? as customer_key, "
            "? as created_at, ? as paid_at, ? as updated_at, "
            "? as _business_date, 'late.jsonl' as _source_file, 1 as _line) "
            "from raw.orders where paid_at is not null and refund_amount = 0 "
            "order by order_id limit 1",
            [customer, paid_at - dt.timedelta(minutes=5), paid_at, paid_at, tonight],
        )
    finally:
        con.close()
    nightly = json.dumps({"start_date": str(tonight), "end_date": str(tonight)})
    result = run_dbt(
        copy, tmp_path / "dbt", "run", "-s", "+mart_crm_chain_daily", "--vars", nightly
    )
    assert result.returncode == 0, result.stdout[-3000:]
    after = query(
        copy,
        "select sent, converted from marts.mart_crm_chain_daily "
        "where date_day = ? and channel = ? and campaign_id = ?",
        [sent_date, channel, campaign],
    )
    assert after == [(before[0], before[1] + 1)], (sent_date, before, after)


def test_crm_rates_by_channel_are_within_three_standard_errors_of_the_truth(simulated_run):
    """Over the days whose engagement has all landed (a touch sent on the last day can still be
    opened after its folder closed), delivered / sent, opened / delivered and clicked /
    delivered estimate the channel's true probabilities."""
    settings, truth, _ = simulated_run
    rows = query(
        settings.warehouse,
        "select channel, sum(sent), sum(delivered), sum(opened), sum(clicked) "
        "from marts.mart_crm_chain_daily where date_day < ? group by channel",
        [END],
    )
    true_rates = truth["crm"]["rates_by_channel"]
    assert {channel for channel, *_ in rows} == set(true_rates)
    for channel, sent, delivered, opened, clicked in rows:
        for rate, hits, trials in (
            ("reach_rate", delivered, sent),
            ("open_rate", opened, delivered),
            ("click_rate", clicked, delivered),
        ):
            p = true_rates[channel][rate]
            standard_error = math.sqrt(p * (1 - p) / trials)
            assert abs(hits / trials - p) <= 3 * standard_error, (channel, rate, hits, trials, p)


def test_each_kocs_last_touch_gmv_is_within_one_percent_of_the_truth(simulated_run):
    settings, truth, _ = simulated_run
    found = {
        koc: (orders, float(gmv))
        for koc, orders, gmv in query(
            settings.warehouse,
            "select koc_id, sum(attributed_orders), sum(attributed_gmv) "
            "from marts.mart_koc_scorecard group by koc_id having sum(attributed_orders) > 0",
        )
    }
    expected = truth["koc"]["last_touch"]
    assert expected, "the simulation attributes no order to a KOC"
    assert set(found) == set(expected)
    for koc, figures in expected.items():
        orders, gmv = found[koc]
        assert abs(gmv - figures["gmv"]) <= 0.01 * figures["gmv"], (koc, gmv, figures)
        assert orders == figures["orders"], koc
