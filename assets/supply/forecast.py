"""Daily demand per SKU, forecast 28 days ahead, with a rolling-origin backtest of its accuracy.

Pure functions over numpy arrays (no warehouse, no Dagster), so a test or a benchmark feeds
them any series. The asset (`definitions.py`) reads the demand and writes the two marts.

The models (Nixtla's statsforecast, compiled ahead of time: no JIT):
- smooth demand: AutoETS with a weekly season (`ETS_SPEC`: error and season chosen per SKU
  by AICc, no trend: a daily SKU series here is a level and a weekly shape, and the trend
  candidates cost five times the fit time, measured by scripts/bench_forecast.py). The form
  AICc chose (e.g. "ANA": additive error, no trend, additive season) is kept and refitted, its
  parameters estimated again on every forecast date, until the SKU's own day of the
  `RESELECT_DAYS`-day cycle (`EtsForms`, `reusable_forms`, `reselects_on`): choosing among the
  candidates is 15 times the cost of fitting the chosen one (2.62 s against 0.17 s for a year
  of 144 SKUs), and a week moves the choice of 2-6% of SKUs, each between forms whose AICc were
  close. Each SKU has its own day (by a hash of its id), so every night chooses about a
  seventh of the catalogue: the cost is the same every night, not six cheap nights and one
  that chooses every SKU (3.7 s against 0.6 s for 144 SKUs, and growing with the catalogue);
- intermittent demand (a mean interval between sales days of at least `INTERMITTENT_ADI`,
  Syntetos and Boylan's cut-off): Croston with optimised smoothing;
- a SKU with less than `MIN_MODEL_DAYS` of history (8 weeks: 4 to fit, 4 to test): the mean
  of its history (`historic_average`), the documented fallback, so a brand-new SKU, or a
  warehouse with a few days of data, still gets a forecast.

A series runs from the SKU's first sale in the last `HISTORY_DAYS` to the forecast date, days
without sales as 0. Forecasts are clipped at 0.

Accuracy (mart_forecast_accuracy), from a rolling-origin backtest: origins 28 days apart
ending at the forecast date (up to `BACKTEST_WINDOWS`; ETS fitted at the earliest origin and
rolled forward to the later ones, statsforecast's refit=False; Croston refitted at each), each
followed by a 28-day test. The backtest's ETS form is chosen on its earliest origin's training
data and kept while that origin does not move back before the data it was chosen on, so a
kept form has seen none of a test window. WAPE = sum |y - forecast| / sum y over the test
days. MASE (Hyndman and Koehler 2006) = the mean of each window's MAE / the in-sample MAE of the
one-step seasonal naive forecast (lag 7) on that window's training data; `baseline_mase` is
the same for the seasonal-naive forecast (the last week repeated), so the model beats
seasonal naive where mase < baseline_mase, and the in-sample naive benchmark where mase < 1.
A short series (the historic-average SKUs) is backtested on one origin halfway through its
history (at most 28 test days), with lag 1 instead of 7 when its training part is shorter
than two weeks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

HORIZON = 28
SEASON = 7
HISTORY_DAYS = 365
BACKTEST_WINDOWS = 3
MIN_MODEL_DAYS = 8 * SEASON
INTERMITTENT_ADI = 1.32
ETS_SPEC = "ZNZ"
# The cycle, in days, of comparing the candidates again for an ETS form chosen by AICc (1: every
# forecast date); `GROWTH_FORECAST_RESELECT_DAYS`
RESELECT_DAYS = 7
# What refitting a kept form costs against choosing among the candidates (0.17 s against
# 2.62 s for a year of 144 SKUs): how a kept form's days count towards a process pool
KEPT_FORM_COST = 0.1
# SKUs per statsforecast call: bounds the memory of one call at any catalogue size
BATCH_SKUS = 1_000
# Below this much work (days of the modelled series, summed) a process pool costs more than it
# saves: starting it (a fork server importing statsforecast) takes about 2 s, and a year-long
# series about 50 ms to fit and backtest. 146 SKUs of a year (53,000 days) took 5.9-7.0 s on 2
# workers against 7.1-8.6 s in one process (fresh processes, alternating); it was 400 SKUs,
# whatever their length, which left a small catalogue's year on one core.
PARALLEL_MIN_SERIES_DAYS = 40_000
# Worker processes start from a fork server, never by forking the caller: statsforecast's own
# pool forks, and a fork of a process running threads (Dagster's run worker, a test runner)
# can inherit a lock another thread held, which hung a pool worker for good.
POOL_START_METHOD = "forkserver"

ETS, CROSTON, MEAN = "auto_ets", "croston_optimized", "historic_average"


@dataclass
class Series:
    """One SKU's daily demand up to the forecast date (oldest first)."""

    sku_id: str
    y: np.ndarray

    @property
    def intermittent(self) -> bool:
        sales_days = int(np.count_nonzero(self.y))
        return sales_days == 0 or len(self.y) / sales_days >= INTERMITTENT_ADI

    @property
    def model(self) -> str:
        if len(self.y) < MIN_MODEL_DAYS:
            return MEAN
        return CROSTON if self.intermittent else ETS


@dataclass(frozen=True)
class EtsForms:
    """The AutoETS forms of a SKU (statsforecast's codes: error, trend, season, e.g. "ANA"):
    its forecast's, chosen on the series up to the forecast date, and its backtest's, chosen on
    the training data of the backtest's earliest origin."""

    forecast: str
    backtest: str


@dataclass(frozen=True)
class FormChoice:
    """Forms chosen by AICc and the data they were chosen on: the forecast's on the series up
    to `chosen_on`, the backtest's on the series up to `backtest_trained_to`."""

    forms: EtsForms
    chosen_on: dt.date
    backtest_trained_to: dt.date


@dataclass
class Result:
    """Forecasts and backtest scores of one forecast date."""

    forecast: dict[str, np.ndarray] = field(default_factory=dict)  # sku -> 28 units
    accuracy: dict[str, dict] = field(default_factory=dict)  # sku -> scores
    timings: dict[str, float] = field(default_factory=dict)
    forms: dict[str, EtsForms] = field(default_factory=dict)  # ETS SKUs -> the forms fitted
    chosen: set[str] = field(default_factory=set)  # ETS SKUs whose forms AICc chose this time


def reselect_days() -> int:
    """The most days a chosen ETS form is kept: `GROWTH_FORECAST_RESELECT_DAYS`, else
    RESELECT_DAYS."""
    return max(1, int(os.environ.get("GROWTH_FORECAST_RESELECT_DAYS") or RESELECT_DAYS))


def reselects_on(sku_id: str, date: dt.date, days: int) -> bool:
    """Whether `date` is the SKU's day of choosing its ETS form again, one in every `days`. The
    day comes from a hash of the id that is the same in every process and run (not Python's
    salted `hash`) and well mixed: CRC-32 of the simulator's sequential ids put 33 of 144 SKUs
    on one day of seven and 10 on another; MD5 spreads them as a random draw would (18-25)."""
    digest = int.from_bytes(hashlib.md5(sku_id.encode()).digest()[:8], "big")
    return (date.toordinal() - digest) % days == 0


def backtest_windows(s: Series) -> int:
    """Backtest origins of a modelled series: up to BACKTEST_WINDOWS, 4 weeks of training."""
    return min(BACKTEST_WINDOWS, (len(s.y) - 4 * SEASON) // HORIZON)


def backtest_trained_to(s: Series, forecast_date: dt.date) -> dt.date:
    """The last day of the training data of a series' earliest backtest origin."""
    return forecast_date - dt.timedelta(days=backtest_windows(s) * HORIZON)


def reusable_forms(
    choices: dict[str, FormChoice],
    series: list[Series],
    forecast_date: dt.date,
    days: int | None = None,
) -> dict[str, EtsForms]:
    """The kept forms of the ETS series as of `forecast_date`: chosen on it, or before it and
    since the SKU's last day of choosing again (`reselects_on`; not after it: those are a later
    date's), and, for the backtest's, on data that ends no later than the date's earliest
    origin (a form chosen on a test window's days would flatter the backtest). A form is kept
    at most `days` - 1 days; one chosen off its SKU's day (the first forecast, a new SKU, a form
    that stopped fitting) is kept until that day comes, which spreads the choosing over the
    cycle."""
    days = reselect_days() if days is None else days
    kept = {}
    for s in series:
        choice = choices.get(s.sku_id)
        if choice is None or s.model != ETS:
            continue
        age = (forecast_date - choice.chosen_on).days
        if not 0 <= age < days:
            continue
        # the SKU's day came since the form was chosen (on it, or on a night the run skipped)
        due = any(
            reselects_on(s.sku_id, choice.chosen_on + dt.timedelta(days=d), days)
            for d in range(1, age + 1)
        )
        if not due and choice.backtest_trained_to <= backtest_trained_to(s, forecast_date):
            kept[s.sku_id] = choice.forms
    return kept


def chosen_forms(
    choices: dict[str, FormChoice],
    series: list[Series],
    forecast_date: dt.date,
    result: Result,
) -> dict[str, FormChoice]:
    """`choices` with the forms chosen on `forecast_date` (result.chosen: not kept, or kept
    and no longer fitting), for the next date."""
    updated = dict(choices)
    for s in series:
        if s.sku_id in result.chosen:
            updated[s.sku_id] = FormChoice(
                result.forms[s.sku_id], forecast_date, backtest_trained_to(s, forecast_date)
            )
    return updated


def jobs() -> int:
    """Worker processes for the forecast: `GROWTH_FORECAST_JOBS`, else every core."""
    return max(1, int(os.environ.get("GROWTH_FORECAST_JOBS") or os.cpu_count() or 1))


def build_series(
    frame: pd.DataFrame, forecast_date: dt.date, history_days: int = HISTORY_DAYS
) -> list[Series]:
    """Series from rows (sku_id, date_day, units), sorted by SKU: each from the SKU's first
    sale in the window to the forecast date, days without sales as 0."""
    first = forecast_date - dt.timedelta(days=history_days - 1)
    frame = frame[(frame["date_day"] >= first) & (frame["date_day"] <= forecast_date)]
    out: list[Series] = []
    for sku_id, rows in frame.groupby("sku_id", sort=True):
        rows = rows[rows["units"] > 0]
        if rows.empty:
            continue
        start = min(rows["date_day"])
        length = (forecast_date - start).days + 1
        y = np.zeros(length)
        np.add.at(y, [(d - start).days for d in rows["date_day"]], rows["units"].to_numpy(float))
        out.append(Series(str(sku_id), y))
    return out


# ------------------------------------------------------------------------------ scoring
def seasonal_naive(train: np.ndarray, h: int, m: int) -> np.ndarray:
    """The last m days repeated over h days."""
    last = train[-m:]
    return np.array([last[j % m] for j in range(h)], dtype=float)


def naive_scale(train: np.ndarray, m: int) -> float | None:
    """In-sample MAE of the one-step seasonal naive forecast (lag m); None when undefined."""
    if len(train) <= m:
        return None
    scale = float(np.mean(np.abs(train[m:] - train[:-m])))
    return scale if scale > 0 else None


def score(windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], m: int) -> dict:
    """WAPE and MASE of a model and of seasonal naive over backtest windows of (train, test,
    forecast)."""
    abs_err = base_err = actual = 0.0
    mase, base_mase = [], []
    days = 0
    for train, test, forecast in windows:
        baseline = seasonal_naive(train, len(test), m)
        abs_err += float(np.abs(test - forecast).sum())
        base_err += float(np.abs(test - baseline).sum())
        actual += float(test.sum())
        days += len(test)
        scale = naive_scale(train, m)
        if scale is not None:
            mase.append(float(np.mean(np.abs(test - forecast))) / scale)
            base_mase.append(float(np.mean(np.abs(test - baseline))) / scale)
    return {
        "wape": abs_err / actual if actual > 0 else None,
        "baseline_wape": base_err / actual if actual > 0 else None,
        "mase": float(np.mean(mase)) if mase else None,
        "baseline_mase": float(np.mean(base_mase)) if base_mase else None,
        "backtest_windows": len(windows),
        "backtest_days": days,
    }


# ------------------------------------------------------------------------------- models
def _ets(form: str | None):
    """AutoETS choosing among ETS_SPEC's forms by AICc, or fitting `form` alone (the same fit
    and forecast as the choice made on the same data, bit for bit)."""
    from statsforecast.models import AutoETS

    return AutoETS(season_length=SEASON, model=form or ETS_SPEC)


def _fit_form(y: np.ndarray, form: str | None):
    """AutoETS fitted with `form`, or with the form AICc chooses when there is none or the kept
    one does not fit the data any more (a multiplicative form and a day without sales)."""
    if form:
        try:
            return _ets(form).fit(y)
        except ValueError:
            pass
    return _ets(None).fit(y)


def _form_of(model) -> str:
    """The fitted form's code: statsforecast names it "ETS(A,N,A)"."""
    return model.model_["method"].removeprefix("ETS(").removesuffix(")").replace(",", "")


def _long_frame(series: list[Series]) -> pd.DataFrame:
    """statsforecast's long format; every series ends on the same (arbitrary) day."""
    end = pd.Timestamp("2000-01-01") + pd.Timedelta(days=max(len(s.y) for s in series))
    parts = [
        pd.DataFrame(
            {
                "unique_id": s.sku_id,
                "ds": pd.date_range(end=end, periods=len(s.y), freq="D"),
                "y": s.y,
            }
        )
        for s in series
    ]
    return pd.concat(parts, ignore_index=True)


def _fit_group(
    kind: str, series: list[Series], windows: int, forms: dict[str, EtsForms] | None = None
) -> Result:
    """Forecast and backtest of SKUs sharing a model and a number of backtest windows (in
    this process: the pool, when there is one, is forecast_all's)."""
    if kind == ETS:
        return _fit_ets(series, windows, forms or {})
    return _fit_croston(series, windows)


def _fit_ets(series: list[Series], windows: int, forms: dict[str, EtsForms]) -> Result:
    """AutoETS of each series, with its kept forms where it has them. The backtest is fitted
    once, at the earliest origin, and rolled forward to the later ones (what statsforecast's
    cross_validation does with refit=False, here with the fitted form at hand)."""
    result = Result()
    fit_seconds = backtest_seconds = 0.0
    for s in series:
        kept = forms.get(s.sku_id)
        y = np.asarray(s.y, dtype=float)
        started = time.perf_counter()
        model = _fit_form(y, kept and kept.forecast)
        result.forecast[s.sku_id] = np.maximum(model.predict(HORIZON)["mean"], 0.0)
        fitted = time.perf_counter()
        first = len(y) - windows * HORIZON
        backtest = _fit_form(y[:first], kept and kept.backtest)
        parts = []
        for origin in range(first, len(y), HORIZON):
            forecast = backtest.forward(y=y[:origin], h=HORIZON)["mean"]
            parts.append((y[:origin], y[origin : origin + HORIZON], np.maximum(forecast, 0.0)))
        result.accuracy[s.sku_id] = score(parts, SEASON)
        result.forms[s.sku_id] = EtsForms(_form_of(model), _form_of(backtest))
        if result.forms[s.sku_id] != kept:
            result.chosen.add(s.sku_id)
        fit_seconds += fitted - started
        backtest_seconds += time.perf_counter() - fitted
    result.timings["fit_forecast"] = fit_seconds
    result.timings["backtest"] = backtest_seconds
    return result


def _fit_croston(series: list[Series], windows: int) -> Result:
    """Croston (optimised) through statsforecast; it has no forward and costs next to nothing,
    so the backtest refits it at every origin."""
    from statsforecast import StatsForecast
    from statsforecast.models import CrostonOptimized

    result = Result()
    frame = _long_frame(series)
    started = time.perf_counter()
    sf = StatsForecast(models=[CrostonOptimized(alias=CROSTON)], freq="D", n_jobs=1)
    forecast = sf.forecast(h=HORIZON, df=frame)
    fitted = time.perf_counter()
    backtest = sf.cross_validation(
        h=HORIZON, df=frame, n_windows=windows, step_size=HORIZON, refit=True
    )
    result.timings["fit_forecast"] = fitted - started
    result.timings["backtest"] = time.perf_counter() - fitted
    values = forecast.sort_values(["unique_id", "ds"])
    for sku_id, rows in values.groupby("unique_id", sort=True):
        result.forecast[str(sku_id)] = np.maximum(rows[CROSTON].to_numpy(float), 0.0)
    by_sku = {s.sku_id: s for s in series}
    backtest = backtest.sort_values(["unique_id", "cutoff", "ds"])
    for sku_id, rows in backtest.groupby("unique_id", sort=True):
        y = by_sku[str(sku_id)].y
        parts = []
        for k, (_, window) in enumerate(rows.groupby("cutoff", sort=True)):
            origin = len(y) - (windows - k) * HORIZON
            forecast = np.maximum(window[CROSTON].to_numpy(float), 0.0)
            parts.append((y[:origin], window["y"].to_numpy(float), forecast))
        result.accuracy[str(sku_id)] = score(parts, SEASON)
    return result


def _merge(into: Result, part: Result) -> None:
    into.forecast.update(part.forecast)
    into.accuracy.update(part.accuracy)
    into.forms.update(part.forms)
    into.chosen.update(part.chosen)
    for key, seconds in part.timings.items():
        into.timings[key] = into.timings.get(key, 0.0) + seconds


def _pool_context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context(POOL_START_METHOD)
    if POOL_START_METHOD == "forkserver":
        # imported once by the server, not by every worker it forks
        context.set_forkserver_preload(["assets.supply.forecast", "statsforecast.models"])
    return context


def _process_pool(n_jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(n_jobs, mp_context=_pool_context())


def parallel_workers(
    series: list[Series], n_jobs: int | None = None, forms: dict[str, EtsForms] | None = None
) -> int:
    """The worker processes forecast_all uses for these series: 1 (none) below
    PARALLEL_MIN_SERIES_DAYS of modelled days (a kept form's days count KEPT_FORM_COST)."""
    n_jobs = n_jobs or jobs()
    forms = forms or {}
    days = sum(
        len(s.y) * (KEPT_FORM_COST if s.sku_id in forms else 1.0) for s in series if s.model != MEAN
    )
    return n_jobs if days >= PARALLEL_MIN_SERIES_DAYS else 1


def start_worker_server() -> None:
    """Starts the fork server of forecast_all's workers now, so that its imports (about a
    second) run beside the caller's own work instead of before the first fit."""
    if POOL_START_METHOD == "forkserver":
        _pool_context()
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _mean_forecasts(series: list[Series], result: Result) -> None:
    """The fallback for short histories: the mean, backtested halfway through the history."""
    for s in series:
        result.forecast[s.sku_id] = np.full(HORIZON, float(np.mean(s.y)))
        h = min(HORIZON, len(s.y) // 2)
        if h == 0:
            result.accuracy[s.sku_id] = score([], SEASON)
            continue
        train, test = s.y[:-h], s.y[-h:]
        m = SEASON if len(train) >= 2 * SEASON else 1
        result.accuracy[s.sku_id] = score([(train, test, np.full(h, float(np.mean(train))))], m)


def _batches(items: list[Series], size: int) -> Iterator[list[Series]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def forecast_all(
    series: list[Series], n_jobs: int | None = None, forms: dict[str, EtsForms] | None = None
) -> Result:
    """Forecasts and backtest scores of every series (in SKU order, whatever the input's).
    `forms`: the kept ETS forms of some SKUs (reusable_forms); the others' are chosen."""
    n_jobs = n_jobs or jobs()
    forms = forms or {}
    result = Result()
    series = sorted(series, key=lambda s: s.sku_id)
    short = [s for s in series if s.model == MEAN]
    started = time.perf_counter()
    _mean_forecasts(short, result)
    result.timings["fallback"] = time.perf_counter() - started
    groups: dict[tuple[str, int], list[Series]] = {}
    for s in series:
        if s.model != MEAN:
            groups.setdefault((s.model, backtest_windows(s)), []).append(s)
    work = []
    workers = parallel_workers(series, n_jobs, forms)
    for (kind, windows), members in sorted(groups.items()):
        # a share of the group per worker, at most BATCH_SKUS (the memory of one call)
        size = min(BATCH_SKUS, -(-len(members) // workers))
        work += [
            (kind, batch, windows, {s.sku_id: forms[s.sku_id] for s in batch if s.sku_id in forms})
            for batch in _batches(members, size)
        ]
    if workers > 1 and len(work) > 1:
        with _process_pool(min(workers, len(work))) as pool:
            for part in pool.map(_fit_group, *zip(*work, strict=True)):
                _merge(result, part)
    else:
        for kind, batch, windows, kept in work:
            _merge(result, _fit_group(kind, batch, windows, kept))
    for s in series:
        accuracy = result.accuracy[s.sku_id]
        accuracy["model"] = s.model
        accuracy["history_days"] = len(s.y)
        accuracy["is_intermittent"] = s.intermittent
        accuracy["mean_daily_units"] = float(np.mean(s.y))
    return result


def warm_up() -> float:
    """Seconds to import statsforecast and fit each model once on a tiny series: the one-off
    cost of a fresh process, reported apart from the fit (statsforecast 2 ships compiled
    code; nothing is JIT-compiled, so there is no compile cache to keep)."""
    started = time.perf_counter()
    y = np.tile([3.0, 4, 5, 3, 0, 2, 6], 10)
    forecast_all([Series("warm_up_smooth", y + 1), Series("warm_up_sparse", (y == 0) * 1.0)], 1)
    return time.perf_counter() - started
