"""Growth marts I against the simulator's truth, on the end-to-end zone (tests/pipeline/
conftest.py): spend and visitors exactly, each owned-store order's last touch, each attribution
model on the true touch paths, every order in one channel; and a full refresh equal to the daily
runs that built the marts."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import shutil

import duckdb
import pytest

from tests.dbt.conftest import run_dbt
from tests.pipeline.e2e import query

MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
OWNED_STORES = ("wechat_miniprogram", "own_site")


def test_spend_by_channel_and_visitors_by_traffic_class_are_the_true_ones(simulated_run):
    settings, truth, _ = simulated_run
    spend = {
        (d.isoformat(), c): float(s)
        for d, c, s in query(
            settings, "select date_day, channel, spend from marts.mart_channel_daily"
        )
    }
    visitors = {
        (d.isoformat(), c): v
        for d, c, v in query(
            settings,
            "select date_day, traffic_class, visitors from marts.mart_traffic_structure_daily",
        )
    }
    for day, expected in truth["daily"].items():
        for channel, amount in expected["spend_by_channel"].items():
            assert spend.get((day, channel), 0.0) == pytest.approx(amount, abs=0.005), (
                day,
                channel,
            )
        for traffic_class, count in expected["visitors"].items():
            assert visitors.get((day, traffic_class), 0) == count, (day, traffic_class)
    assert sum(spend.values()) > 0 and sum(visitors.values()) > 0


def test_visitors_counted_from_the_sessions_are_the_devices_of_each_channels_hits(simulated_run):
    """int_visitors_daily counts a device on its sessions' channels and on direct for a campaign
    session's hits without campaign information; int_hit_sources groups every hit by its own
    source. Both must give each channel of each day the same devices."""
    settings, _, _ = simulated_run
    from_hits = query(
        settings,
        "select event_date, channel, count(distinct anonymous_id) "
        "from intermediate.int_hit_sources group by 1, 2 order by 1, 2",
    )
    from_sessions = query(
        settings,
        "select date_day, dimension_value, visitors from intermediate.int_visitors_daily "
        "where dimension = 'channel' order by 1, 2",
    )
    assert from_sessions == from_hits
    # campaign sessions with direct hits of their own are what the sessions' rows alone miss
    assert (
        query(
            settings,
            "select count(*) from intermediate.int_sessions where is_touch and direct_hits > 0",
        )[0][0]
        > 0
    )


def test_every_order_lands_in_exactly_one_channel_on_its_day(simulated_run):
    settings, _, _ = simulated_run
    by_channel = query(
        settings,
        "select date_day, sum(orders), sum(gmv) from marts.mart_channel_daily "
        "group by 1 order by 1",
    )
    by_order = query(
        settings, "select date_day, count(*), sum(gmv) from marts.fct_orders group by 1 order by 1"
    )
    assert by_channel == by_order


def owned_store_paths(truth: dict) -> dict[str, dict]:
    return {o: v for o, v in truth["orders"].items() if "path" in v}


def test_the_last_touch_of_owned_store_orders_is_the_true_one(simulated_run):
    settings, truth, _ = simulated_run
    last_touch = dict(
        query(
            settings,
            "select order_id, channel from marts.fct_attribution where model = 'last_touch'",
        )
    )
    paths = owned_store_paths(truth)
    agree = sum(last_touch.get(o) == v["channel"] for o, v in paths.items())
    assert len(paths) > 1000
    assert agree / len(paths) >= 0.95, (agree, len(paths))


def weights_on_a_path(
    model: str, path: list[dict], created: dt.datetime
) -> list[tuple[str, float]]:
    """The five models of marts.md, written again here from their definitions, on a true path."""
    n = len(path)
    channels = [touch["channel"] for touch in path]
    if n == 0:
        return [("own_site", 1.0)]
    if model == "first_touch":
        return [(channels[0], 1.0)]
    if model == "last_touch":
        return [(channels[-1], 1.0)]
    if model == "linear":
        return [(c, 1 / n) for c in channels]
    if model == "position_based":
        if n <= 2:
            return [(c, 1 / n) for c in channels]
        middle = [(c, 0.2 / (n - 2)) for c in channels[1:-1]]
        return [(channels[0], 0.4), *middle, (channels[-1], 0.4)]
    factors = [
        0.5 ** ((created - dt.datetime.fromisoformat(t["at"])).total_seconds() / (7 * 86400))
        for t in path
    ]
    return [(c, f / sum(factors)) for c, f in zip(channels, factors, strict=True)]


@pytest.mark.parametrize("model", MODELS)
def test_each_model_attributes_gmv_per_channel_as_on_the_true_paths(simulated_run, model):
    settings, truth, _ = simulated_run
    created = dict(query(settings, "select order_id, created_at from marts.fct_orders"))
    expected: collections.Counter = collections.Counter()
    for order_id, order in owned_store_paths(truth).items():
        for channel, weight in weights_on_a_path(model, order["path"], created[order_id]):
            expected[channel] += weight * order["gmv"]
    got = dict(
        query(
            settings,
            "select a.channel, sum(a.attributed_gmv) from marts.fct_attribution a "
            "join marts.fct_orders o using (order_id) "
            f"where a.model = ? and o.store in {OWNED_STORES} group by 1",
            [model],
        )
    )
    assert set(got) == set(expected)
    for channel, gmv in expected.items():
        assert got[channel] == pytest.approx(gmv, rel=0.01), channel


def test_a_full_refresh_builds_the_same_marts_as_the_daily_runs(simulated_run, tmp_path):
    """The marts were built by a backfill and then a day's run (incremental): building every
    model from scratch over the same raw data must give the same rows."""
    settings, _, _ = simulated_run
    copy = tmp_path / "full.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    result = run_dbt(
        copy, tmp_path / "dbt", "build", "--full-refresh", "--exclude-resource-type", "unit_test"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    daily = duckdb.connect(str(settings.warehouse), read_only=True)
    full = duckdb.connect(str(copy), read_only=True)
    try:
        tables = [
            t
            for (t,) in daily.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        assert {"fct_attribution", "mart_channel_daily", "mart_funnel_daily"} <= set(tables)
        differ = [t for t in tables if digest(daily, t) != digest(full, t)]
    finally:
        daily.close()
        full.close()
    assert differ == []


def digest(con: duckdb.DuckDBPyConnection, table: str) -> str:
    rows = con.execute(f'select * from marts."{table}" order by all').fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()
