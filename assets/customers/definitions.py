"""Customers: the CLV mart (mart_customer_ltv, marts.yml), a BG/NBD + Gamma-Gamma fit on the
order history, written on the engine dbt built the marts on, so BI, the report and the
serving copy read it like any mart.

The model is in clv.py, the table in ltv.py. Reads go through `open_marts` and the write
through `write_mart`, so the same code runs on DuckDB and Spark; inputs are read sorted, so
both engines fit the same history and write the same values.
"""

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa

from orchestration.lib.gate_ledger import failed_gates
from orchestration.lib.marts import open_marts
from orchestration.lib.partitions import partition_dates
from orchestration.lib.python_marts import (
    load_contracts,
    python_mart_asset,
    write_mart,
)
from orchestration.settings import Settings, load_settings

CONTRACTS = load_contracts(Path(__file__).with_name("marts.yml"))
LTV = CONTRACTS["mart_customer_ltv"]
INPUTS = [
    dg.AssetKey("fct_orders"),
    dg.AssetKey("dim_customers"),
    dg.AssetKey("mart_channel_daily"),
]


def read_inputs(settings: Settings, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history of each customer with a paid order up to as_of (ltv.customer_histories),
    and each channel's spend and new customers up to as_of, sorted."""
    from assets.customers.ltv import customer_histories

    with open_marts(settings) as con:
        histories = customer_histories(con, "marts.fct_orders", "marts.dim_customers", as_of)
        channels = con.execute(
            "select channel, sum(spend) as spend, sum(new_customers) as new_customers "
            "from marts.mart_channel_daily where date_day <= ? group by channel order by 1",
            [as_of],
        ).df()
    return histories, channels


@python_mart_asset(LTV, INPUTS, "customers", {"scipy"})
def mart_customer_ltv(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from assets.customers.ltv import ltv_table

    settings = load_settings()
    dates = partition_dates(context)
    with context.resources.warehouse.connect(read_only=True) as con:
        held_back = failed_gates(con, dates)
    for date in held_back:
        context.log.warning(f"no CLV as of {date}: it failed {', '.join(held_back[date])}")
    passed = [d for d in dates if d not in held_back]
    if not passed:
        return dg.MaterializeResult(metadata={"dagster/row_count": 0, "as_of_date": None})
    as_of = dt.date.fromisoformat(passed[-1])
    histories, channels = read_inputs(settings, as_of)
    started = time.perf_counter()
    table, fit = ltv_table(histories, channels, as_of)
    fit_seconds = time.perf_counter() - started
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    if settings.dbt_target == "duckdb":
        with context.resources.warehouse.connect() as con:
            written = write_mart(settings, LTV, arrow, con)
    else:
        written = write_mart(settings, LTV, arrow)
    context.log.info(f"CLV as of {as_of}: {written} customers, fitted in {fit_seconds:.2f} s")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "as_of_date": as_of.isoformat(),
            "fit_seconds": round(fit_seconds, 3),
            "bgnbd": dg.MetadataValue.json(fit.get("bgnbd") or {}),
            "gamma_gamma": dg.MetadataValue.json(fit.get("gamma_gamma") or {}),
            "diagnostics": dg.MetadataValue.json(fit.get("diagnostics") or {}),
            "ltv_to_cac_by_channel": dg.MetadataValue.json(fit.get("ltv_to_cac_by_channel", {})),
            **({"not_fitted": fit["not_fitted"]} if "not_fitted" in fit else {}),
        }
    )


defs = dg.Definitions(assets=[mart_customer_ltv])
