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
    EtsForms,
    FormChoice,
    Series,
    backtest_trained_to,
    build_series,
    chosen_forms,
    forecast_all,
    reselects_on,
    reusable_forms,
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


def _other_form(form: str) -> str:
    """A form AICc did not choose: seasonal for a non-seasonal choice and the reverse."""
    return form[:2] + ("N" if form[2] != "N" else "A")


def test_a_kept_form_is_refitted_as_it_was_chosen_and_only_that_form(forecasts):
    """Kept forms skip AICc's comparison and fit the form given: the choice itself kept
    gives the choosing run's forecast and backtest bit for bit; another form is fitted as
    given (so the kept forms are what the run used, not a label)."""
    series, fresh = forecasts
    ets = [s for s in series if s.model == ETS]
    assert len(ets) > 100 and set(fresh.forms) == {s.sku_id for s in ets}
    assert len({f.forecast for f in fresh.forms.values()}) > 1
    same, other = ets[:6], ets[6:12]
    forms = {s.sku_id: fresh.forms[s.sku_id] for s in same}
    forms |= {
        s.sku_id: EtsForms(
            _other_form(fresh.forms[s.sku_id].forecast), fresh.forms[s.sku_id].backtest
        )
        for s in other
    }
    kept = forecast_all(same + other, n_jobs=1, forms=forms)
    for s in same:
        assert kept.forecast[s.sku_id].tobytes() == fresh.forecast[s.sku_id].tobytes()
        assert kept.accuracy[s.sku_id] == fresh.accuracy[s.sku_id]
    for s in other:
        assert kept.forms[s.sku_id] == forms[s.sku_id]
        assert not np.array_equal(kept.forecast[s.sku_id], fresh.forecast[s.sku_id])
        # the backtest's form was kept as chosen
        assert kept.accuracy[s.sku_id] == fresh.accuracy[s.sku_id]


def test_forms_are_kept_until_the_skus_day_never_from_a_later_date_nor_past_a_backtest_origin():
    y = np.tile([3.0, 4, 5, 3, 1, 2, 6], 40)  # 280 days: 3 backtest windows
    smooth = Series("s", y)
    assert smooth.model == ETS
    short = Series("t", y[:100])  # 2 windows: its earliest origin is 56 days back
    sparse = Series("c", (y == 1) * 1.0)
    assert sparse.model == CROSTON
    # the SKU's day of choosing again, and the six days after it
    day = next(
        dt.date(2026, 6, 30) + dt.timedelta(days=d)
        for d in range(7)
        if reselects_on("s", dt.date(2026, 6, 30) + dt.timedelta(days=d), 7)
    )
    after = [day + dt.timedelta(days=d) for d in range(1, 7)]
    assert not any(reselects_on("s", d, 7) for d in after)
    assert reselects_on("s", day + dt.timedelta(days=7), 7)
    forms = EtsForms("ANA", "ANN")

    def choice(chosen_on, series):
        return FormChoice(forms, chosen_on, backtest_trained_to(series, chosen_on))

    def kept(chosen_on, series=smooth, on=day, days=7):
        return reusable_forms({series.sku_id: choice(chosen_on, series)}, [series], on, days)

    # chosen on its day: kept the six days after, chosen again a week on
    assert all(kept(day, on=d) == {"s": forms} for d in [day, *after])
    assert kept(day, on=day + dt.timedelta(days=7)) == {}
    # chosen off its day (a first forecast): kept until its day comes, not a whole week
    assert kept(after[2], on=after[5]) == {"s": forms}
    assert kept(after[2], on=day + dt.timedelta(days=7)) == {}
    # a night skipped: its day passed while no forecast ran
    assert kept(after[5], on=day + dt.timedelta(days=8)) == {}
    assert kept(day, on=after[0], days=1) == {}
    assert kept(day + dt.timedelta(days=1)) == {}  # a date run again after a later one
    assert kept(day, series=sparse) == {}  # Croston has no forms
    # a series that gained a backtest window: its earliest origin moved back 28 days, before
    # the data its backtest form was chosen on
    grown = Series("t", y[: 100 + 28])
    on = next(d for d in after[:2] if not reselects_on("t", d, 7))  # a day it keeps its form
    stale = {"t": FormChoice(forms, on - dt.timedelta(days=1), backtest_trained_to(short, on))}
    assert reusable_forms(stale, [grown], on, 7) == {}
    assert reusable_forms(stale, [short], on, 7) == {"t": forms}


def test_each_night_chooses_the_forms_of_the_skus_whose_day_it_is(year_of_demand):
    """Eight forecast dates of the same SKUs, night after night: the first chooses every ETS
    form, each later one those of the SKUs whose day it is, so a week chooses each form once
    and no night chooses them all."""
    skus = sorted(year_of_demand["sku_id"].unique())[:40]
    demand = year_of_demand[year_of_demand["sku_id"].isin(skus)]
    choices: dict = {}
    nights = []
    for offset in range(7, -1, -1):
        day = END - dt.timedelta(days=offset)
        series = build_series(demand, day)
        kept = reusable_forms(choices, series, day, 7)
        # a series that gained a backtest window: its backtest form is chosen again, whatever
        # the day (the forms are kept or chosen per SKU, both together)
        moved = {
            s.sku_id
            for s in series
            if s.sku_id in choices
            and backtest_trained_to(s, day) < choices[s.sku_id].backtest_trained_to
        }
        result = forecast_all(series, n_jobs=1, forms=kept)
        choices = chosen_forms(choices, series, day, result)
        nights.append((day, set(kept), moved, set(result.forms), result.chosen))
    ets = nights[0][3]
    assert len(ets) > 10
    assert nights[0][4] == ets
    week = set()
    for day, kept, moved, fitted, chosen in nights[1:]:
        assert fitted == ets
        due = {sku for sku in ets if reselects_on(sku, day, 7)}
        assert kept == ets - due - moved
        assert len(moved) <= 2
        # those due are chosen again, and a kept form that stopped fitting the data is too
        assert due <= chosen
        assert len(chosen) < len(ets) / 2
        assert not due & week
        week |= due
    assert week == ets  # the seven nights after the first chose each form again once
    for sku in ets:
        assert choices[sku].chosen_on == max(d for d, *_, c in nights if sku in c)


def test_the_forms_of_each_date_live_in_the_warehouse_file(tmp_path, monkeypatch):
    import duckdb

    from assets.supply import definitions, forecast

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    assert definitions.read_form_choices(con, END, END) == ({}, {})
    day = dt.timedelta(days=1)
    one = {"SKU1": FormChoice(EtsForms("ANA", "MNM"), END - 3 * day, END - 90 * day)}
    two = {**one, "SKU2": FormChoice(EtsForms("ANN", "ANN"), END - 2 * day, END - 86 * day)}
    definitions.write_form_choices(con, {END - 3 * day: one, END - 2 * day: two})
    # a run of END starts from END - 2's forms; a run of END - 2 .. END refits END - 2's
    assert definitions.read_form_choices(con, END, END) == (two, {})
    assert definitions.read_form_choices(con, END - 2 * day, END) == (one, {END - 2 * day: two})
    # written again, a date's forms are replaced, not added to
    definitions.write_form_choices(con, {END - 2 * day: one})
    assert definitions.read_form_choices(con, END, END) == (one, {})
    # forgotten past FORM_HISTORY_DAYS before the newest date
    later = END + (definitions.FORM_HISTORY_DAYS - 2) * day
    definitions.write_form_choices(con, {later: two})
    (dates,) = con.execute(
        "select list(distinct forecast_date order by 1) from forecast.ets_forms"
    ).fetchone()
    assert dates == [END - 2 * day, later]  # END - 3 is gone
    monkeypatch.setattr(forecast, "ETS_SPEC", "ZZZ")
    assert definitions.read_form_choices(con, END, later) == ({}, {})
    con.close()


def test_a_kept_form_that_no_longer_fits_the_data_is_chosen_again():
    """A multiplicative form kept from a week of sales every day cannot fit a series with a
    day without sales: AICc chooses again among the forms that can, and it is recorded."""
    y = np.tile([3.0, 4, 5, 3, 2, 2, 6], 20)
    y[-1] = 0.0
    s = Series("z", y)
    assert s.model == ETS
    kept = {"z": EtsForms("MNM", "MNM")}
    result = forecast_all([s], n_jobs=1, forms=kept)
    assert result.chosen == {"z"}
    assert result.forms["z"].forecast[0] == "A"  # the choice excludes multiplicative errors
    assert result.forms["z"].backtest == "MNM"  # its training data still has no zero
    choices = chosen_forms(
        {"z": FormChoice(kept["z"], END - dt.timedelta(days=2), END)}, [s], END, result
    )
    assert choices["z"].chosen_on == END and choices["z"].forms == result.forms["z"]
