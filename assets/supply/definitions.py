"""Supply: the demand forecast and its backtest, two Python marts (marts.yml) written on the
engine dbt built the marts on, so BI, the report and the serving copy read them like any mart.

The method is in forecast.py. The ETS forms chosen by AICc are kept between runs in the
warehouse file (`forecast.ets_forms`: the forms each forecast date used, per SKU, whichever
engine builds the marts) and refitted until they are a week old. Reads go through `open_marts`
(on DuckDB a read-only handle on the warehouse file, closed before the writer connection opens)
and writes through `write_mart`, so the same code runs on DuckDB and Spark; inputs are read
sorted, so both engines fit the same series and write the same forecasts.
"""

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
import numpy as np
import pyarrow as pa

from orchestration.lib.gate_ledger import failed_gates
from orchestration.lib.marts import open_marts
from orchestration.lib.partitions import partition_dates
from orchestration.lib.python_marts import (
    load_contracts,
    python_mart_execution,
    python_mart_properties,
    write_mart,
)
from orchestration.lib.sql import table_exists, transaction
from orchestration.settings import Settings, load_settings

if TYPE_CHECKING:
    from assets.supply.forecast import FormChoice

    # the forms each forecast date used, per SKU
    FormsOfDates = dict[dt.date, dict[str, FormChoice]]

CONTRACTS = load_contracts(Path(__file__).with_name("marts.yml"))
FORECAST = CONTRACTS["mart_demand_forecast"]
ACCURACY = CONTRACTS["mart_forecast_accuracy"]
DEMAND = dg.AssetKey("fct_order_items")
FCT_ORDERS = dg.AssetKey("fct_orders")


def max_forecast_dates() -> int:
    """How many of a run's dates get a forecast (the newest): each costs a fit of every SKU,
    so a year's backfill forecasts its last week, not 365 times (`GROWTH_FORECAST_MAX_DATES`)."""
    return max(1, int(os.environ.get("GROWTH_FORECAST_MAX_DATES") or 7))


def use_numba_cache(settings: Settings) -> None:
    """Numba's on-disk cache under the home (`$GROWTH_HOME/cache/numba`), not beside the
    installed packages, for whatever in the stack JIT-compiles with numba when it is installed
    (utilsforecast's optional kernels). statsforecast 2 itself ships compiled code."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(settings.home / "cache" / "numba"))


ETS_FORMS_DDL = """
create schema if not exists forecast;
create table if not exists forecast.ets_forms (
    forecast_date date, sku_id varchar, candidates varchar, forecast_form varchar,
    backtest_form varchar, chosen_on date, backtest_trained_to date,
    primary key (forecast_date, sku_id)
);
"""
# Forecast dates whose forms are kept: a date run again within them refits the forms it used
# (the same marts); an older one chooses again
FORM_HISTORY_DAYS = 42


def candidates() -> str:
    """What a kept form was chosen among: a change of the candidates or the season chooses again."""
    from assets.supply.forecast import ETS_SPEC, SEASON

    return f"{ETS_SPEC}/{SEASON}"


def keeps_forms(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has the table of kept forms (a forecast has run since they are
    kept, whether or not it had ETS SKUs)."""
    return table_exists(con, "forecast", "ets_forms")


def read_form_choices(
    con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date
) -> "tuple[dict[str, FormChoice], FormsOfDates]":
    """The ETS forms of the latest forecast date before `first` (what the run starts from), and
    those each date of first..last used when it was forecast before (a date run again), among
    today's candidates."""
    from assets.supply.forecast import EtsForms, FormChoice

    if not keeps_forms(con):
        return {}, {}
    rows = con.execute(
        "select forecast_date, sku_id, forecast_form, backtest_form, chosen_on, "
        "backtest_trained_to from forecast.ets_forms where candidates = ? and ("
        "forecast_date between ? and ? or forecast_date = (select max(forecast_date) "
        "from forecast.ets_forms where forecast_date < ? and candidates = ?))",
        [candidates(), first, last, first, candidates()],
    ).fetchall()
    before: dict[str, FormChoice] = {}
    used: FormsOfDates = {}
    for date, sku, forecast, backtest, chosen_on, trained_to in rows:
        choice = FormChoice(EtsForms(forecast, backtest), chosen_on, trained_to)
        (before if date < first else used.setdefault(date, {}))[sku] = choice
    return before, used


def write_form_choices(con: duckdb.DuckDBPyConnection, used: "FormsOfDates") -> None:
    """Replaces the forms of each forecast date in `used`, in one transaction, and forgets
    those older than FORM_HISTORY_DAYS before the newest."""
    rows = [(date, sku, choice) for date, skus in used.items() for sku, choice in skus.items()]
    table = pa.table(
        {
            "forecast_date": [date for date, _, _ in rows],
            "sku_id": [sku for _, sku, _ in rows],
            "candidates": [candidates()] * len(rows),
            "forecast_form": [c.forms.forecast for _, _, c in rows],
            "backtest_form": [c.forms.backtest for _, _, c in rows],
            "chosen_on": [c.chosen_on for _, _, c in rows],
            "backtest_trained_to": [c.backtest_trained_to for _, _, c in rows],
        },
        schema=pa.schema(
            [
                ("forecast_date", pa.date32()),
                ("sku_id", pa.string()),
                ("candidates", pa.string()),
                ("forecast_form", pa.string()),
                ("backtest_form", pa.string()),
                ("chosen_on", pa.date32()),
                ("backtest_trained_to", pa.date32()),
            ]
        ),
    )
    con.execute(ETS_FORMS_DDL)
    with transaction(con, used_forms=table):
        con.execute(
            "delete from forecast.ets_forms where forecast_date in (select unnest(?))",
            [list(used)],
        )
        con.execute("insert into forecast.ets_forms by name select * from used_forms")
        con.execute(
            "delete from forecast.ets_forms where forecast_date < "
            f"(select max(forecast_date) from forecast.ets_forms) - {FORM_HISTORY_DAYS}"
        )


def read_demand(settings: Settings, first: dt.date, last: dt.date):
    """Daily units per SKU (rows sku_id, date_day, units), sorted, from fct_order_items."""
    with open_marts(settings) as con:
        table = con.sql(
            "select sku_id, date_day, cast(sum(units) as bigint) as units "
            "from marts.fct_order_items where date_day between ? and ? "
            "group by sku_id, date_day order by sku_id, date_day",
            params=[first, last],
        ).to_arrow_table()
    return table.to_pandas()


ARROW_TYPES = {
    "date": pa.date32(),
    "string": pa.string(),
    "integer": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
}


def arrow_schema(contract) -> pa.Schema:
    """The contract's columns as Arrow types, so every date's rows share one schema (a date
    whose scores are all null would otherwise infer a null column)."""
    return pa.schema([(c.name, ARROW_TYPES[c.data_type]) for c in contract.columns])


def forecast_tables(forecast_date: dt.date, result) -> tuple[pa.Table, pa.Table]:
    """The two marts' rows of one forecast date."""
    from assets.supply.forecast import HORIZON

    skus = sorted(result.forecast)
    days = np.arange(1, HORIZON + 1)
    models = {s: result.accuracy[s]["model"] for s in skus}
    forecast = pa.table(
        {
            "forecast_date": [forecast_date] * (len(skus) * HORIZON),
            "sku_id": [s for s in skus for _ in days],
            "days_ahead": [int(d) for _ in skus for d in days],
            "target_date": [forecast_date + dt.timedelta(days=int(d)) for _ in skus for d in days],
            "forecast_units": [float(v) for s in skus for v in result.forecast[s]],
            "model": [models[s] for s in skus for _ in days],
        },
        schema=arrow_schema(FORECAST),
    )
    columns = [c.name for c in ACCURACY.columns if c.name not in ("forecast_date", "sku_id")]
    accuracy = pa.table(
        {
            "forecast_date": [forecast_date] * len(skus),
            "sku_id": skus,
            **{c: [result.accuracy[s][c] for s in skus] for c in columns},
        },
        schema=arrow_schema(ACCURACY),
    )
    return forecast, accuracy


@dg.multi_asset(
    name="demand_forecast",
    specs=[
        dg.AssetSpec(
            key=contract.name,
            **python_mart_properties(contract, [DEMAND, FCT_ORDERS], "supply", {"statsforecast"}),
        )
        for contract in (FORECAST, ACCURACY)
    ],
    **python_mart_execution(),
)
def demand_forecast(context: dg.AssetExecutionContext):
    from assets.supply.forecast import (
        HISTORY_DAYS,
        MEAN,
        build_series,
        chosen_forms,
        forecast_all,
        parallel_workers,
        reusable_forms,
        start_worker_server,
        warm_up,
    )

    settings = load_settings()
    use_numba_cache(settings)
    dates = partition_dates(context)
    with context.resources.warehouse.connect(read_only=True) as con:
        held_back = failed_gates(con, dates)
        choices, used_before = (
            read_form_choices(
                con, dt.date.fromisoformat(dates[0]), dt.date.fromisoformat(dates[-1])
            )
            if dates
            else ({}, {})
        )
    for date in held_back:
        context.log.warning(f"no forecast as of {date}: it failed {', '.join(held_back[date])}")
    forecast_dates = [dt.date.fromisoformat(d) for d in dates if d not in held_back][
        -max_forecast_dates() :
    ]
    # each date's series, at most max_forecast_dates() of them: the pool is known before the
    # warm-up, and its fork server's imports run beside it
    series_of_dates = []
    if forecast_dates:
        demand = read_demand(
            settings,
            forecast_dates[0] - dt.timedelta(days=HISTORY_DAYS - 1),
            forecast_dates[-1],
        )
        series_of_dates = [build_series(demand, d) for d in forecast_dates]
    # the first date's kept forms decide the pool (a later date of the run keeps the forms
    # its predecessor chose)
    if series_of_dates and (
        parallel_workers(
            series_of_dates[0],
            forms=reusable_forms(
                used_before.get(forecast_dates[0], choices),
                series_of_dates[0],
                forecast_dates[0],
            ),
        )
        > 1
    ):
        start_worker_server()
    # statsforecast is imported and warmed up for a run that fits a model only: in a warehouse's
    # first eight weeks every SKU's forecast is its mean (1.2 s of every such night)
    modelled = any(s.model != MEAN for series in series_of_dates for s in series)
    warm_up_seconds = warm_up() if modelled else 0.0
    forecasts, accuracies, timings, forms_chosen, used = [], [], {}, 0, {}
    for number, (forecast_date, series) in enumerate(
        zip(forecast_dates, series_of_dates, strict=True), start=1
    ):
        # a date forecast before refits the forms it used then; a new one those of the date
        # before it
        basis = used_before.get(forecast_date, choices)
        result = forecast_all(series, forms=reusable_forms(basis, series, forecast_date))
        choices = chosen_forms(basis, series, forecast_date, result)
        used[forecast_date] = {sku: choices[sku] for sku in result.forms}
        forms_chosen += len(result.chosen)
        forecast, accuracy = forecast_tables(forecast_date, result)
        forecasts.append(forecast)
        accuracies.append(accuracy)
        for key, seconds in result.timings.items():
            timings[key] = timings.get(key, 0.0) + seconds
        context.log.info(
            f"[{number}/{len(forecast_dates)}] forecast as of {forecast_date}: "
            f"{accuracy.num_rows} SKUs, ETS forms refitted for "
            f"{len(result.forms) - len(result.chosen)}, chosen for {len(result.chosen)}"
        )
    forecast = pa.concat_tables(forecasts) if forecasts else None
    accuracy = pa.concat_tables(accuracies) if accuracies else None
    written = {FORECAST.name: 0, ACCURACY.name: 0}
    if forecast is not None:
        if settings.dbt_target == "duckdb":
            with context.resources.warehouse.connect() as con:
                written[FORECAST.name] = write_mart(settings, FORECAST, forecast, con)
                written[ACCURACY.name] = write_mart(settings, ACCURACY, accuracy, con)
                write_form_choices(con, used)
        else:
            written[FORECAST.name] = write_mart(settings, FORECAST, forecast)
            written[ACCURACY.name] = write_mart(settings, ACCURACY, accuracy)
            with context.resources.warehouse.connect() as con:
                write_form_choices(con, used)
    common = {
        "forecast_dates": dg.MetadataValue.json([d.isoformat() for d in forecast_dates]),
        "held_back_dates": dg.MetadataValue.json(held_back),
        "warm_up_seconds": round(warm_up_seconds, 3),
        "ets_forms_chosen": forms_chosen,
        **{f"{key}_seconds": round(value, 3) for key, value in sorted(timings.items())},
    }
    yield dg.MaterializeResult(
        asset_key=FORECAST.name,
        metadata={**common, "dagster/row_count": written[FORECAST.name]},
    )
    mean_mase = None
    if accuracy is not None:
        mase = [m for m in accuracy.column("mase").to_pylist() if m is not None]
        mean_mase = round(float(np.mean(mase)), 4) if mase else None
    yield dg.MaterializeResult(
        asset_key=ACCURACY.name,
        metadata={
            **common,
            "dagster/row_count": written[ACCURACY.name],
            "mean_mase": mean_mase,
        },
    )


defs = dg.Definitions(assets=[demand_forecast])
