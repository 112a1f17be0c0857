"""mart_customer_ltv's rows (assets/customers/ltv.py) on hand-made orders: history columns,
predictions from the fitted model, and LTV / CAC by acquisition channel. The orders go through
the warehouse's query (`customer_histories`) on an in-memory DuckDB."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assets.customers import ltv
from assets.customers.definitions import LTV
from orchestration.lib.python_marts import conform

AS_OF = dt.date(2026, 6, 30)


def ltv_table(
    orders: pd.DataFrame, customers: pd.DataFrame, channels: pd.DataFrame, as_of: dt.date
) -> tuple[pd.DataFrame, dict]:
    """The mart's rows of hand-made orders and customers, summed as the asset sums them."""
    con = duckdb.connect()
    try:
        con.register("fct_orders", orders)
        con.register("dim_customers", customers)
        histories = ltv.customer_histories(con, "fct_orders", "dim_customers", as_of)
    finally:
        con.close()
    return ltv.ltv_table(histories, channels, as_of)


def orders_of(rng: np.random.Generator, customers: int) -> pd.DataFrame:
    """A few hundred customers buying every few weeks since January, some of them once."""
    rows = []
    for c in range(customers):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 90)))
        while day <= AS_OF + dt.timedelta(days=30):
            rows.append((f"k{c:04d}", day, Decimal(f"{rng.gamma(5, 40):.2f}")))
            if rng.random() < 0.4:
                break
            day += dt.timedelta(days=int(rng.exponential(25)) + 1)
    return pd.DataFrame(rows, columns=["customer_key", "date_day", "net_revenue"])


@pytest.fixture(scope="module")
def built():
    rng = np.random.default_rng(3)
    orders = orders_of(rng, 400)
    keys = sorted(orders["customer_key"].unique())
    customers = pd.DataFrame(
        {
            "customer_key": keys,
            "acquisition_channel": [("douyin", "tmall", None)[i % 3] for i in range(len(keys))],
        }
    )
    channels = pd.DataFrame(
        {
            "channel": ["douyin", "tmall"],
            "spend": [Decimal("5000.00"), Decimal("0.00")],
            "new_customers": [100, 80],
        }
    )
    table, metadata = ltv_table(orders, customers, channels, AS_OF)
    return orders, table, metadata


def test_rows_fit_the_contract_one_per_customer_with_history_up_to_as_of(built):
    orders, table, _ = built
    typed = conform(LTV, pa.Table.from_pandas(table, preserve_index=False))
    seen = orders[orders["date_day"] <= AS_OF]
    assert typed.num_rows == seen["customer_key"].nunique()
    row = table.set_index("customer_key").loc["k0000"]
    mine = seen[seen["customer_key"] == "k0000"]
    assert row["orders"] == len(mine)
    # the mart's decimal, exact: summed as decimals, then cast to the contract's type
    typed_row = typed.to_pandas().set_index("customer_key").loc["k0000"]
    assert typed_row["revenue"] == sum(mine["net_revenue"])
    assert typed_row["last_order_date"] == max(mine["date_day"])
    assert row["tenure_days"] == (AS_OF - min(mine["date_day"])).days
    assert row["recency_days"] == (max(mine["date_day"]) - min(mine["date_day"])).days
    assert row["frequency"] == mine["date_day"].nunique() - 1


def test_predictions_are_probabilities_and_positive_values(built):
    _, table, metadata = built
    assert table["p_alive"].between(0, 1).all()
    assert (table["predicted_purchases_12m"] > 0).all()
    assert table["clv_12m"].to_numpy() == pytest.approx(
        (table["predicted_purchases_12m"] * table["expected_order_value"]).to_numpy(), abs=1e-3
    )
    # a customer with one purchase is alive by the model's assumption
    assert (table.loc[table["frequency"] == 0, "p_alive"] == 1).all()
    # the fit is the asset's metadata
    assert set(metadata["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert set(metadata["gamma_gamma"]) == {"p", "q", "gamma"}
    assert metadata["diagnostics"]["bgnbd"]["converged"]


def test_ltv_to_cac_is_the_channels_mean_clv_over_its_cac(built):
    _, table, metadata = built
    douyin = table[table["acquisition_channel"] == "douyin"]
    assert (douyin["channel_cac"] == 50.0).all()  # 5000 / 100
    expected = round(douyin["clv_12m"].mean() / 50.0, 6)
    assert douyin["ltv_to_cac"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert metadata["ltv_to_cac_by_channel"] == {"douyin": pytest.approx(expected, abs=1e-4)}
    # no spend: a CAC of 0, so no ratio; no acquisition channel (erased): neither
    tmall = table[table["acquisition_channel"] == "tmall"]
    assert (tmall["channel_cac"] == 0).all() and tmall["ltv_to_cac"].isna().all()
    unknown = table[table["acquisition_channel"].isna()]
    assert unknown["channel_cac"].isna().all() and unknown["ltv_to_cac"].isna().all()


def test_too_little_history_keeps_the_history_without_a_fit():
    orders = pd.DataFrame(
        {"customer_key": ["k1"], "date_day": [AS_OF], "net_revenue": [Decimal("10.00")]}
    )
    customers = pd.DataFrame({"customer_key": ["k1"], "acquisition_channel": ["jd"]})
    channels = pd.DataFrame({"channel": ["jd"], "spend": [0.0], "new_customers": [1]})
    table, metadata = ltv_table(orders, customers, channels, AS_OF)
    assert "not_fitted" in metadata
    assert table["orders"].tolist() == [1]
    assert table["predicted_purchases_12m"].isna().all()
    conform(LTV, pa.Table.from_pandas(table, preserve_index=False))


def test_a_first_night_without_any_repeat_purchase_keeps_the_history_without_a_fit():
    # many customers, each with one order on the one night the warehouse has: the likelihood has
    # no maximum, and the run must still write the history (it once divided by zero)
    keys = [f"k{i}" for i in range(50)]
    orders = pd.DataFrame(
        {"customer_key": keys, "date_day": [AS_OF] * 50, "net_revenue": [Decimal("10.00")] * 50}
    )
    customers = pd.DataFrame({"customer_key": keys, "acquisition_channel": ["jd"] * 50})
    channels = pd.DataFrame({"channel": ["jd"], "spend": [100.0], "new_customers": [50]})
    table, metadata = ltv_table(orders, customers, channels, AS_OF)
    assert "repeat purchase" in metadata["not_fitted"]
    assert len(table) == 50 and table["p_alive"].isna().all()


def test_a_few_days_of_orders_fit_without_numpy_warnings_in_the_runs_log():
    # ten customers over four days: the line search tries steps whose exponentials overflow;
    # the objective refuses them, and the run's log gets no RuntimeWarning for each
    import warnings

    first = dt.date(2026, 3, 1)
    rows = [
        ("C0", 0, 50), ("C1", 3, 100), ("C1", 0, 100), ("C2", 3, 150), ("C2", 3, 50),
        ("C3", 0, 100), ("C3", 1, 50), ("C3", 2, 50), ("C4", 1, 50), ("C4", 2, 100),
        ("C5", 2, 150), ("C5", 1, 50), ("C5", 2, 150), ("C6", 3, 150), ("C6", 1, 100),
        ("C6", 0, 50), ("C7", 1, 100), ("C8", 2, 150), ("C8", 3, 150), ("C9", 1, 150),
        ("C9", 3, 50), ("C9", 1, 100),
    ]  # fmt: skip
    orders = pd.DataFrame(
        [(key, first + dt.timedelta(days=day), float(amount)) for key, day, amount in rows],
        columns=["customer_key", "date_day", "net_revenue"],
    )
    customers = pd.DataFrame({"customer_key": [f"C{i}" for i in range(10)]})
    customers["acquisition_channel"] = "jd"
    channels = pd.DataFrame({"channel": ["jd"], "spend": [10.0], "new_customers": [2]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table, metadata = ltv_table(orders, customers, channels, first + dt.timedelta(days=4))
    assert "not_fitted" not in metadata
    assert table["p_alive"].between(0, 1).all()


def test_rows_follow_the_customer_keys_whatever_order_the_orders_come_in(built):
    """Shuffled orders, and an order without a customer, give the same rows (keys, histories
    and predictions) and the same fit."""
    orders, table, metadata = built
    customers = pd.DataFrame(
        {"customer_key": sorted(orders["customer_key"].unique()), "acquisition_channel": "tmall"}
    )
    channels = pd.DataFrame({"channel": ["tmall"], "spend": [Decimal("0")], "new_customers": [1]})
    keyless = pd.DataFrame(
        [(None, dt.date(2026, 2, 1), Decimal("99.00"))] * 3, columns=orders.columns
    )
    shuffled = pd.concat([orders, keyless]).sample(frac=1.0, random_state=7)
    again, refit = ltv_table(shuffled, customers, channels, AS_OF)
    assert (
        list(again["customer_key"]) == sorted(table["customer_key"]) == list(table["customer_key"])
    )
    same = ["orders", "revenue", "first_order_date", "frequency", "clv_12m", "p_alive"]
    pd.testing.assert_frame_equal(again[same], table[same])
    assert refit["bgnbd"] == metadata["bgnbd"]
