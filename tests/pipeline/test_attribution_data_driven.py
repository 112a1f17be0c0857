"""Data-driven attribution on the end-to-end zone (tests/pipeline/conftest.py): the mart's
removal effects and shares against an independent implementation (ChannelAttribution's
markov_model) on the simulator's journeys as the warehouse holds them, its figures consistent
with the journeys and the true paths, and last touch still the default of mart_channel_daily."""

from __future__ import annotations

import collections

import duckdb
import pytest

from tests.pipeline.e2e import END, query
from tests.traffic.test_markov import channel_attribution

WINDOW = "trailing_30_days"


def journeys_until(settings, last) -> list[tuple[list[str], bool, float]]:
    """The journeys of int_journeys dated within the 30 days up to `last`, in journey order."""
    rows = query(
        settings,
        "select journey_id, channel, converted, cast(gmv as double) from intermediate.int_journeys "
        "where date_day between ? - interval 29 day and ? order by journey_id, step_number",
        [last, last],
    )
    journeys: dict[str, tuple[list[str], bool, float]] = {}
    for journey_id, channel, converted, gmv in rows:
        journeys.setdefault(journey_id, ([], converted, gmv))[0].append(channel)
    return list(journeys.values())


def mart_window(settings, window_type: str, window_end) -> dict[str, dict]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        frame = con.execute(
            "select * from marts.mart_attribution_data_driven "
            "where window_type = ? and window_end = ?",
            [window_type, window_end],
        ).df()
    finally:
        con.close()
    return {row["channel"]: row for row in frame.to_dict("records")}


def test_shares_and_removal_effects_equal_channelattributions_on_the_simulated_journeys(
    simulated_run,
):
    settings, _, _ = simulated_run
    journeys = journeys_until(settings, END)
    converting = sum(converted for _, converted, _ in journeys)
    assert converting > 500 and len(journeys) - converting > 500
    # most journeys are one touch and 2% convert: ChannelAttribution's simulation needs 1e7
    # paths to come within a percentage point of the exact shares of the smaller channels
    shares, value_shares, effects = channel_attribution(journeys, nsim=1e7)
    mart = mart_window(settings, WINDOW, END)
    assert set(mart) == set(shares)
    for channel, row in mart.items():
        # shares within 1% (one percentage point), removal effects within 0.01
        assert row["share"] == pytest.approx(shares[channel], abs=0.01), channel
        assert row["gmv_share"] == pytest.approx(value_shares[channel], abs=0.01), channel
        assert row["removal_effect"] == pytest.approx(
            effects["removal_effects_conversion"][channel], abs=0.01
        )
        assert row["gmv_removal_effect"] == pytest.approx(
            effects["removal_effects_conversion_value"][channel], abs=0.01
        )


def test_journeys_hold_every_touch_once_in_time_order(simulated_run):
    """int_journeys against its definition, from the sessions and the touch paths: a converting
    journey is an order's path; every other touch is a step of its device's journey of its day;
    each journey's steps are numbered 1..steps in the order of its touches."""
    settings, _, _ = simulated_run
    ((missing, extra, unconverted),) = query(
        settings,
        """
        with pathed as (
            select distinct session_key from intermediate.int_order_touches
            where touch_type = 'session'
        ),
        expected as (
            select session_key
            from intermediate.int_sessions
            where is_touch and session_key not in (select session_key from pathed)
        ),
        held as (
            select session_key from intermediate.int_journeys where not converted
        )
        select
            (select count(*) from expected anti join held using (session_key)),
            (select count(*) from held anti join expected using (session_key)),
            (select count(*) from expected)
        """,
    )
    assert unconverted > 500
    assert (missing, extra) == (0, 0)
    # one journey per device and day: journeys of a device-day's touches share their id
    (split,) = query(
        settings,
        "select count(*) from (select anonymous_id, session_date, count(distinct journey_id) n "
        "from intermediate.int_journeys j join intermediate.int_sessions s using (session_key) "
        "where not j.converted group by 1, 2) where n > 1",
    )[0]
    assert split == 0
    ((converting_rows, path_rows),) = query(
        settings,
        "select (select count(*) from intermediate.int_journeys where converted), "
        "(select count(*) from intermediate.int_order_touches where touch_type = 'session')",
    )
    assert converting_rows == path_rows
    (misnumbered,) = query(
        settings,
        """
        select count(*) from (
            select journey_id, count(*) as n, min(steps) as low_steps, max(steps) as high_steps,
                min(step_number) as first, max(step_number) as last,
                count(distinct step_number) as numbers
            from intermediate.int_journeys group by journey_id
        )
        where not (low_steps = n and high_steps = n and first = 1 and last = n and numbers = n)
        """,
    )[0]
    assert misnumbered == 0
    (out_of_order,) = query(
        settings,
        "select count(*) from (select touched_at, lag(touched_at) over "
        "(partition by journey_id order by step_number) as before "
        "from intermediate.int_journeys) where before > touched_at",
    )[0]
    assert out_of_order == 0


def test_every_window_shares_out_its_conversions_and_gmv(simulated_run):
    settings, _, _ = simulated_run
    windows = query(
        settings,
        "select window_type, window_start, count(*), sum(share), sum(gmv_share), "
        "sum(conversions), max(window_conversions), sum(gmv), max(window_gmv), "
        "sum(last_touch_conversions), sum(last_touch_gmv) "
        "from marts.mart_attribution_data_driven group by 1, 2",
    )
    # a trailing window ending on each of the five days, and March
    assert sorted(t for t, *_ in windows) == ["month"] + [WINDOW] * 5
    for _, _, channels, share, gmv_share, conversions, total, gmv, total_gmv, lt, lt_gmv in windows:
        assert channels >= 5
        assert share == pytest.approx(1.0, abs=1e-5)
        assert gmv_share == pytest.approx(1.0, abs=1e-5)
        assert conversions == pytest.approx(total, abs=1e-3)
        assert float(gmv) == pytest.approx(float(total_gmv), abs=0.01 * channels)
        assert lt == total and lt_gmv == total_gmv


def test_the_last_touch_beside_is_fct_attributions_and_the_true_paths(simulated_run):
    """The last-touch figures beside the Markov ones are those of fct_attribution's last-touch
    rows of orders with a touch; their count is that of the true paths (within the 5% of
    orders whose path the warehouse cannot see whole)."""
    settings, truth, _ = simulated_run
    mart = mart_window(settings, "month", END)
    expected = dict(
        query(
            settings,
            "select channel, count(*) from marts.fct_attribution "
            "where model = 'last_touch' and touch_type = 'session' group by 1",
        )
    )
    assert {
        c: r["last_touch_conversions"] for c, r in mart.items() if r["last_touch_conversions"]
    } == expected
    true_paths = collections.Counter(
        o["path"][-1]["channel"] for o in truth["orders"].values() if o.get("path")
    )
    assert sum(expected.values()) == pytest.approx(sum(true_paths.values()), rel=0.05)


def test_mart_channel_daily_keeps_last_touch(simulated_run):
    settings, _, _ = simulated_run
    by_channel = dict(
        query(
            settings,
            "select channel, sum(orders) from marts.mart_channel_daily "
            "group by 1 having sum(orders) > 0",
        )
    )
    last_touch = dict(
        query(
            settings,
            "select channel, count(*) from marts.fct_attribution where model = 'last_touch' "
            "group by 1",
        )
    )
    assert by_channel == last_touch
