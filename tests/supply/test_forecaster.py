"""The demand forecaster on series shaped like the simulator's demand (a year of it cannot be
simulated in a test's time: orchestration/simulator/demand.py) and on hand-made series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from assets.supply.forecast import (
    CROSTON,
    ETS,
    HORIZON,
    MEAN,
    MIN_MODEL_DAYS,
    Series,
    build_series,
    forecast_all,
    score,
)
from orchestration.simulator.demand import synthetic_demand

END = dt.date(2026, 6, 30)  # the year up to it holds Double 11 and 618


@pytest.fixture(scope="module")
def year_of_demand() -> pd.DataFrame:
    # the small scale's units a day over 300 SKUs: the tail sells on fewer than half the days
    return synthetic_demand(300, 365, END, scale="small", seed=5)


@pytest.fixture(scope="module")
def forecasts(year_of_demand):
    series = build_series(year_of_demand, END)
    return series, forecast_all(series, n_jobs=1)


def test_the_forecaster_beats_seasonal_naive_on_skus_with_enough_history(forecasts):
    series, result = forecasts
    full = [
        result.accuracy[s.sku_id]
        for s in series
        if result.accuracy[s.sku_id]["backtest_windows"] == 3
        and result.accuracy[s.sku_id]["mase"] is not None
    ]
    assert len(full) > 200
    mase = np.array([a["mase"] for a in full])
    baseline = np.array([a["baseline_mase"] for a in full])
    # MASE < 1: better than the in-sample seasonal-naive benchmark; and better than the
    # seasonal-naive forecast itself over the same 84 test days, SKU by SKU
    assert mase.mean() < 1 and np.median(mase) < 1
    assert mase.mean() < 0.85 * baseline.mean()
    assert (mase < baseline).mean() > 0.8
    wape = np.array([a["wape"] for a in full])
    assert (wape < np.array([a["baseline_wape"] for a in full])).mean() > 0.8


def test_each_kind_of_demand_gets_its_model(forecasts):
    series, result = forecasts
    models = {result.accuracy[s.sku_id]["model"] for s in series}
    assert {ETS, CROSTON} <= models
    for s in series:
        accuracy = result.accuracy[s.sku_id]
        if len(s.y) < MIN_MODEL_DAYS:  # launched in the last 8 weeks
            assert accuracy["model"] == MEAN, s.sku_id
        else:
            expected = CROSTON if accuracy["is_intermittent"] else ETS
            assert accuracy["model"] == expected, s.sku_id
        assert len(result.forecast[s.sku_id]) == HORIZON
        assert (result.forecast[s.sku_id] >= 0).all()
    # a SKU selling ~1.5 units a day is forecast around that, not at 0 or at a peak
    steady = [s for s in series if 1 < s.y[-90:].mean() < 3]
    assert steady
    for s in steady:
        assert 0.3 * s.y[-90:].mean() < result.forecast[s.sku_id].mean() < 3 * s.y[-90:].mean()


def test_a_few_days_of_history_get_the_mean_and_a_short_backtest():
    days = [END - dt.timedelta(days=k) for k in range(5)]
    frame = pd.DataFrame({"sku_id": "a", "date_day": days, "units": [2, 0, 4, 6, 3]})
    frame = frame[frame["units"] > 0]
    result = forecast_all(build_series(frame, END), n_jobs=1)
    # oldest first the history is 3, 6, 4, 0, 2: forecast its mean
    assert result.forecast["a"].tolist() == [3.0] * HORIZON
    accuracy = result.accuracy["a"]
    assert accuracy["model"] == MEAN and accuracy["history_days"] == 5
    # backtested trained on the first 3 days (mean 13/3), tested on the last 2 (0, 2)
    assert accuracy["backtest_days"] == 2 and accuracy["backtest_windows"] == 1
    assert accuracy["wape"] == pytest.approx((13 / 3 + (13 / 3 - 2)) / 2)


def test_the_scores_follow_their_definitions():
    train = np.array([1.0, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7, 8])  # lag-7 naive MAE: 1
    test = np.array([3.0, 4, 5, 6, 7, 8, 9])
    forecast = test + np.array([1.0, -1, 1, -1, 1, -1, 1])
    got = score([(train, test, forecast)], 7)
    assert got["wape"] == pytest.approx(7 / 42)
    assert got["mase"] == pytest.approx(1.0)
    # seasonal naive repeats the last week (2..8): off by 1 every day
    assert got["baseline_mase"] == pytest.approx(1.0)
    assert got["baseline_wape"] == pytest.approx(7 / 42)


def test_the_same_demand_in_any_order_gives_the_same_forecast(year_of_demand):
    few = year_of_demand[year_of_demand["sku_id"].isin(["SKU00001", "SKU00002", "SKU00003"])]
    one = forecast_all(build_series(few, END), n_jobs=1)
    shuffled = few.sample(frac=1.0, random_state=3)
    two = forecast_all(build_series(shuffled, END), n_jobs=1)
    assert one.forecast.keys() == two.forecast.keys()
    for sku in one.forecast:
        assert one.forecast[sku].tobytes() == two.forecast[sku].tobytes()
    assert all(isinstance(s, Series) for s in build_series(few, END))


def test_the_pool_forecast_equals_the_one_process_forecast_and_never_forks_the_caller(
    year_of_demand, monkeypatch
):
    """A catalogue large enough for worker processes gets them from a fork server: forking a
    process that runs threads (Dagster's run worker) can copy a lock another thread holds,
    and a pool worker then waits on it for good. The caller here runs a thread throughout."""
    import threading

    from assets.supply import forecast

    skus = sorted(year_of_demand["sku_id"].unique())[:12]
    series = build_series(year_of_demand[year_of_demand["sku_id"].isin(skus)], END)
    assert {s.model for s in series} >= {"auto_ets", "croston_optimized"}
    alone = forecast_all(series, n_jobs=1)

    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    started_methods = []
    real_pool = forecast._process_pool

    def recording_pool(n_jobs):
        pool = real_pool(n_jobs)
        started_methods.append(pool._mp_context.get_start_method())
        return pool

    monkeypatch.setattr(forecast, "PARALLEL_MIN_SERIES_DAYS", 1)
    monkeypatch.setattr(forecast, "_process_pool", recording_pool)
    try:
        pooled = forecast_all(series, n_jobs=2)
    finally:
        stop.set()
    assert started_methods == ["forkserver"]
    assert pooled.forecast.keys() == alone.forecast.keys()
    for sku in alone.forecast:
        np.testing.assert_array_equal(pooled.forecast[sku], alone.forecast[sku])
        assert pooled.accuracy[sku] == alone.accuracy[sku]


def test_a_worker_server_started_early_is_the_one_the_pool_forks_from():
    """The asset starts the workers' fork server before its warm-up, so the server's imports
    run beside it: the pool must then fork from that server, not start another. In a fresh
    interpreter, where no earlier test has started one."""
    import subprocess
    import sys

    script = """
import datetime as dt
from multiprocessing import forkserver

from assets.supply import forecast
from orchestration.simulator.demand import synthetic_demand

end = dt.date(2026, 6, 30)
series = forecast.build_series(synthetic_demand(4, 200, end, scale="small", seed=5), end)
forecast.PARALLEL_MIN_SERIES_DAYS = 1
assert forecast.parallel_workers(series, 2) == 2
assert forecast.parallel_workers([s for s in series if s.model == forecast.MEAN], 2) == 1
assert forkserver._forkserver._forkserver_pid is None
forecast.start_worker_server()
started = forkserver._forkserver._forkserver_pid
assert started is not None
result = forecast.forecast_all(series, n_jobs=2)
assert len(result.forecast) == len(series)
assert forkserver._forkserver._forkserver_pid == started
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
