"""The rows of mart_customer_ltv from the order history, the customers' acquisition channels
and the channels' spend: pure pandas (no warehouse, no Dagster), so a test feeds it a few
hand-made orders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from assets.customers import clv

HORIZON_DAYS = 365


def ltv_table(
    orders: pd.DataFrame,
    customers: pd.DataFrame,
    channels: pd.DataFrame,
    as_of: dt.date,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """mart_customer_ltv's rows and the fit's metadata.

    orders: customer_key, date_day, net_revenue (paid orders; later ones are ignored);
    customers: customer_key, acquisition_channel; channels: channel, spend, new_customers
    (summed over the dates up to as_of)."""
    # datetime64, not the warehouse's date objects: pandas groups those in Python, one
    # customer at a time (25 s of a year's 120,000 customers, against a fraction of a second)
    days = pd.to_datetime(orders["date_day"])
    # an order of no customer has no CLV (the warehouse's read leaves them out already)
    kept = (days <= pd.Timestamp(as_of)) & orders["customer_key"].notna()
    # Each customer as an integer code in key order: the per-customer groupings and joins then
    # sort and hash integers, not a year's 270,000 text keys (each grouping factorized them
    # again); the keys come back, in the same order, before the customers' attributes join.
    codes, keys = _key_codes(orders.loc[kept, "customer_key"])
    orders = orders[kept].assign(date_day=days[kept], customer_key=codes)
    transactions = clv.clean_transactions(
        pd.DataFrame(
            {
                "customer_id": orders["customer_key"],
                "date": orders["date_day"],
                "amount": orders["net_revenue"].astype(float),
            }
        )
    )
    summary = clv.rfm_summary(transactions, as_of)
    history = orders.groupby("customer_key", sort=True).agg(
        orders=("date_day", "size"),
        revenue=("net_revenue", "sum"),
        first_order_date=("date_day", "min"),
        last_order_date=("date_day", "max"),
    )
    metadata: dict[str, Any] = {"as_of_date": as_of.isoformat(), "customers": len(summary)}
    try:
        result = clv.fit(summary)
        predicted = clv.predict(result, summary, HORIZON_DAYS / clv.DAYS_PER_PERIOD)
        metadata.update(
            {
                "bgnbd": {k: round(v, 6) for k, v in vars(result.bgnbd).items()},
                "gamma_gamma": (
                    {k: round(v, 6) for k, v in vars(result.gamma_gamma).items()}
                    if result.gamma_gamma
                    else None
                ),
                "repeat_customers": result.repeat_customers,
                "diagnostics": result.diagnostics,
            }
        )
    except clv.TransactionsError as exc:  # too little history to fit: the history alone
        predicted = pd.DataFrame(
            np.nan,
            index=summary.index,
            columns=["predicted_purchases", "p_alive", "expected_value", "clv"],
        )
        metadata["not_fitted"] = str(exc)
    table = history.join(summary).join(predicted)
    table.index = pd.Index(keys[table.index.to_numpy()], name="customer_key")
    table = table.reset_index()
    table = table.merge(customers[["customer_key", "acquisition_channel"]], how="left")
    economics = channels.groupby("channel").agg(
        spend=("spend", "sum"), new_customers=("new_customers", "sum")
    )
    cac = (economics["spend"].astype(float) / economics["new_customers"].replace(0, np.nan)).rename(
        "channel_cac"
    )
    # the channel as a category: a year's 270,000 customers group and look up a dozen codes,
    # not their text (the two merges and the grouping took a fifth of the table's time)
    channel = table["acquisition_channel"].astype("category")
    mean_clv = table["clv"].groupby(channel, observed=True).mean().rename("channel_mean_clv_12m")
    table["channel_cac"] = channel.map(cac).astype(float)
    table["channel_mean_clv_12m"] = channel.map(mean_clv).astype(float)
    ratio = table["channel_mean_clv_12m"] / table["channel_cac"].where(table["channel_cac"] > 0)
    first = pd.to_datetime(table["first_order_date"])
    out = pd.DataFrame(
        {
            "customer_key": table["customer_key"],
            "as_of_date": as_of,
            "orders": table["orders"].astype(int),
            "revenue": table["revenue"],
            "first_order_date": pd.to_datetime(table["first_order_date"]).dt.date,
            "last_order_date": pd.to_datetime(table["last_order_date"]).dt.date,
            "frequency": table["frequency"].astype(int),
            "recency_days": (pd.to_datetime(table["last_order_date"]) - first).dt.days,
            "tenure_days": (pd.Timestamp(as_of) - first).dt.days,
            "predicted_purchases_12m": _rounded(table["predicted_purchases"]),
            "p_alive": _rounded(table["p_alive"]),
            "expected_order_value": _rounded(table["expected_value"]),
            "clv_12m": _rounded(table["clv"]),
            "acquisition_channel": table["acquisition_channel"],
            "channel_cac": _rounded(table["channel_cac"]),
            "channel_mean_clv_12m": _rounded(table["channel_mean_clv_12m"]),
            "ltv_to_cac": _rounded(ratio),
        }
    )
    if not out["customer_key"].is_monotonic_increasing:  # it is when the customers are
        out = out.sort_values("customer_key", ignore_index=True)  # joined in key order
    metadata["ltv_to_cac_by_channel"] = {
        str(channel): round(float(value), 4)
        for channel, value in out.groupby("acquisition_channel")["ltv_to_cac"].first().items()
        if pd.notna(value)
    }
    return out, metadata


def _key_codes(keys: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """`pd.factorize(keys, sort=True)`. The warehouse reads the orders sorted by customer, and
    then a change of key starts the next code: no hashing and sorting of a year's 600,000 text
    keys (0.2 s of the table's 1 s)."""
    values = keys.to_numpy()
    if len(values) < 2 or not keys.is_monotonic_increasing:
        return pd.factorize(keys, sort=True)
    starts = np.empty(len(values), dtype=bool)
    starts[0] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return np.cumsum(starts) - 1, pd.Index(values[starts])


def _rounded(values: pd.Series) -> pd.Series:
    """Six decimals: the last bits of an optimiser's output are not a fact of the data."""
    return values.astype(float).round(6)
