"""The demand_forecast asset across nights: the ETS forms one night chooses are the ones the
next night refits, but for the SKUs whose day of choosing again it is, kept in the warehouse
file between the two runs; a night run again refits the forms it used the first time, so it
writes the same marts."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import numpy as np

from assets.supply.definitions import demand_forecast, read_form_choices
from assets.supply.forecast import (
    ETS,
    MEAN,
    build_series,
    forecast_all,
    reselect_days,
    reselects_on,
)
from orchestration.lib.resources import build_resources
from orchestration.simulator.demand import synthetic_demand

END = dt.date(2026, 6, 30)


def _forecast_rows(warehouse, date: dt.date) -> list:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select sku_id, list(forecast_units order by days_ahead) "
            "from marts.mart_demand_forecast where forecast_date = ? group by sku_id order by 1",
            [date],
        ).fetchall()


def _night(date: dt.date) -> dict:
    result = dg.materialize(
        [demand_forecast], partition_key=date.isoformat(), resources=build_resources()
    )
    assert result.success
    (forecast,) = [
        m
        for m in result.asset_materializations_for_node("demand_forecast")
        if m.asset_key.to_user_string() == "mart_demand_forecast"
    ]
    return {key: value.value for key, value in forecast.metadata.items()}


def test_the_next_night_refits_the_forms_a_night_chose(growth_home):
    demand = synthetic_demand(16, 150, END, scale="small", seed=11)
    with duckdb.connect(str(growth_home.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_order_items as select * from demand")
    before = END - dt.timedelta(days=1)
    ets = [s for s in build_series(demand, before) if s.model == ETS]
    assert len(ets) > 5

    first = _night(before)
    assert first["ets_forms_chosen"] == len(ets)
    assert first["warm_up_seconds"] > 0  # statsforecast is warmed up for its fits
    with duckdb.connect(str(growth_home.warehouse), read_only=True) as con:
        chosen, _ = read_form_choices(con, END, END)
    assert set(chosen) == {s.sku_id for s in ets}
    assert {c.chosen_on for c in chosen.values()} == {before}
    first_rows = _forecast_rows(growth_home.warehouse, before)

    # the next night chooses again the forms of the SKUs whose day it is, and refits the others
    second = _night(END)
    due = {s.sku_id for s in ets if reselects_on(s.sku_id, END, reselect_days())}
    assert 0 < len(due) < len(ets) / 2
    assert second["ets_forms_chosen"] == len(due)
    with duckdb.connect(str(growth_home.warehouse), read_only=True) as con:
        (used,) = read_form_choices(con, END, END)[1].values()
    assert {sku: c for sku, c in used.items() if sku not in due} == {
        sku: c for sku, c in chosen.items() if sku not in due
    }
    assert {used[sku].chosen_on for sku in due} == {END}
    written = _forecast_rows(growth_home.warehouse, END)
    # what the mart holds for END is the forecast of the kept forms, and the chosen ones
    series = build_series(demand, END)
    expected = forecast_all(series, n_jobs=1, forms={k: c.forms for k, c in used.items()})
    assert len(written) == len(series)
    for sku, units in written:
        np.testing.assert_allclose(units, expected.forecast[sku], rtol=0, atol=1e-9)

    # the first night again, after the second, whose forms are changed here (a run again that
    # took the newest date's forms would refit them): it refits what it used, the same forecast
    with duckdb.connect(str(growth_home.warehouse)) as con:
        con.execute(
            "update forecast.ets_forms set forecast_form = 'MNM' where forecast_date = ?", [END]
        )
    again = _night(before)
    assert again["ets_forms_chosen"] == 0
    assert _forecast_rows(growth_home.warehouse, before) == first_rows


def test_a_night_of_short_histories_forecasts_the_means_without_statsforecast(growth_home):
    # four weeks of history: shorter than a model needs, every SKU takes the mean
    demand = synthetic_demand(6, 28, END, scale="small", seed=3)
    with duckdb.connect(str(growth_home.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_order_items as select * from demand")
    assert {s.model for s in build_series(demand, END)} == {MEAN}
    night = _night(END)
    assert night["warm_up_seconds"] == 0 and night["ets_forms_chosen"] == 0
    assert len(_forecast_rows(growth_home.warehouse, END)) == len(build_series(demand, END))
