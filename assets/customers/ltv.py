"""The rows of mart_customer_ltv from the order history, the customers' acquisition channels
and the channels' spend. Each customer's history is summed where the orders are (one query,
`customer_histories`), the model is fitted in pandas (`ltv_table`): no Dagster, so a test feeds
a few hand-made orders through an in-memory DuckDB."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from assets.customers import clv

HORIZON_DAYS = 365


def customer_histories(
    con: duckdb.DuckDBPyConnection, orders: str, customers: str, as_of: dt.date
) -> pd.DataFrame:
    """One row per customer with a paid order up to as_of, sorted by customer_key: the
    summary of clv.customer_totals_sql over `orders` (a relation of customer_key, date_day,
    net_revenue; an order of no customer has no CLV) with the customer's acquisition_channel
    from `customers`. Run where the orders are: the warehouse, or a test's in-memory DuckDB."""
    paid = (
        "(select customer_key as customer_id, date_day as date, net_revenue as amount "
        f"from {orders} where customer_key is not null) as paid_orders"
    )
    return con.execute(
        "select totals.* rename (customer_id as customer_key), "
        "customers.acquisition_channel "
        f"from ({clv.customer_totals_sql(paid)}) as totals "
        f"left join {customers} as customers on customers.customer_key = totals.customer_id "
        "order by totals.customer_id",
        {"calibration_end": as_of},
    ).df()


def ltv_table(
    histories: pd.DataFrame,
    channels: pd.DataFrame,
    as_of: dt.date,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """mart_customer_ltv's rows and the fit's metadata.

    histories: the customers' rows of `customer_histories` as of as_of; channels: channel,
    spend, new_customers (summed over the dates up to as_of)."""
    summary = clv.summary_of_totals(histories)
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
    table = histories.join(predicted)
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
    # the dates stay datetime64 (conform casts them): a year's customers as Python dates took
    # a tenth of a second each way
    out = pd.DataFrame(
        {
            "customer_key": table["customer_key"],
            "as_of_date": pd.Timestamp(as_of),
            "orders": table["transactions"].astype(int),
            "revenue": table["total_amount"].astype(float),
            "first_order_date": table["first_date"],
            "last_order_date": table["last_date"],
            "frequency": table["frequency"].astype(int),
            "recency_days": table["recency_days"].astype(int),
            "tenure_days": table["tenure_days"].astype(int),
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
    metadata["ltv_to_cac_by_channel"] = {
        str(channel): round(float(value), 4)
        for channel, value in out.groupby("acquisition_channel")["ltv_to_cac"].first().items()
        if pd.notna(value)
    }
    return out, metadata


def _rounded(values: pd.Series) -> pd.Series:
    """Six decimals: the last bits of an optimiser's output are not a fact of the data."""
    return values.astype(float).round(6)
