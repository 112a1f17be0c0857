"""Daily SKU demand series shaped like the simulator's, without simulating customers.

For the forecaster's tests and benchmark, which need a year of history for thousands of SKUs
(simulating that many days of a brand takes an hour): each SKU sells Poisson units around its
popularity (the simulator's Zipf law over a catalogue, its units per day for the scale) times
the simulator's own day factor (weekday, paydays, the 618 / Double 11 peak:
`World.factor`). What it lacks: customers' repurchase cycles and the mix of stores.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .config import SCALES
from .world import World


def day_factors(start: dt.date, days: int) -> np.ndarray:
    """The simulator's demand multiplier of each day of a window (World.factor)."""
    calendar = SimpleNamespace(start=start, days=days, date=lambda i: start + dt.timedelta(days=i))
    calendar.promo_day = World._pick_promo_day(calendar)
    return np.array([World.factor(calendar, i) for i in range(days)])


def synthetic_demand(
    skus: int, days: int, end: dt.date, scale: str = "large", seed: int = 0
) -> pd.DataFrame:
    """Rows (sku_id, date_day, units) of `skus` SKUs over the `days` days up to `end`, only
    the days a SKU sold; a twentieth of the SKUs launch during the window."""
    rng = np.random.default_rng(seed)
    start = end - dt.timedelta(days=days - 1)
    units_per_day = 1_000 * SCALES[scale].volume * 1.45 * 1.22
    popularity = rng.permutation(1.0 / np.arange(1, skus + 1) ** 1.05)
    rate = units_per_day * popularity / popularity.sum()
    factors = day_factors(start, days)
    units = rng.poisson(rate[:, None] * factors[None, :])
    launch = np.where(rng.random(skus) < 0.05, rng.integers(0, days, skus), 0)
    units[np.arange(days)[None, :] < launch[:, None]] = 0
    sku, day = np.nonzero(units)
    dates = np.array([start + dt.timedelta(days=i) for i in range(days)])
    return pd.DataFrame(
        {
            "sku_id": np.array([f"SKU{k:05d}" for k in range(skus)])[sku],
            "date_day": dates[day],
            "units": units[sku, day],
        }
    )
