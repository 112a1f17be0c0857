"""Marts built in Python: their contract is enforced on every write, and they are written where
the engine keeps its marts, so `open_marts` reads them like any dbt mart on both engines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from orchestration.lib.marts import mart_names, open_marts
from orchestration.lib.python_marts import (
    ContractError,
    all_contracts,
    load_contracts,
    write_mart,
)

CONTRACT = """
marts:
  - name: mart_probe_forecast
    description: A probe.
    primary_key: [forecast_date, sku_id]
    replace_by: forecast_date
    columns:
      - {name: forecast_date, data_type: date, description: The day the forecast was made.}
      - {name: sku_id, data_type: varchar, description: The SKU.}
      - {name: units, data_type: double, description: Forecast units.}
"""


@pytest.fixture
def contract(tmp_path: Path):
    path = tmp_path / "marts.yml"
    path.write_text(CONTRACT)
    return load_contracts(path)["mart_probe_forecast"]


def rows(day: str, skus: list[str], units: float) -> pa.Table:
    return pa.table(
        {
            "sku_id": skus,
            "units": [units] * len(skus),
            "forecast_date": [dt.date.fromisoformat(day)] * len(skus),
        }
    )


def test_a_frame_off_its_contract_is_refused_naming_what_differs(contract, growth_home):
    with pytest.raises(ContractError, match=r"missing \['units'\]"):
        write_mart(growth_home, contract, pa.table({"sku_id": ["a"], "forecast_date": ["x"]}))
    with pytest.raises(ContractError, match="does not fit its type"):
        write_mart(
            growth_home,
            contract,
            pa.table({"sku_id": ["a"], "units": [1.0], "forecast_date": ["not a date"]}),
            duckdb.connect(),
        )
    with pytest.raises(ContractError, match="repeated on 1"):
        write_mart(growth_home, contract, rows("2026-03-01", ["a", "a"], 1.0), duckdb.connect())


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_write_replaces_its_own_dates_and_reads_back_on_either_engine(
    contract, growth_home, monkeypatch, engine
):
    monkeypatch.setenv("GROWTH_DBT_TARGET", engine)
    con = duckdb.connect(str(growth_home.warehouse)) if engine == "duckdb" else None
    write_mart(growth_home, contract, rows("2026-03-01", ["a", "b"], 1.0), con)
    write_mart(growth_home, contract, rows("2026-03-02", ["a"], 2.0), con)
    # a re-run of 2026-03-01 replaces that date's rows, and only them
    write_mart(growth_home, contract, rows("2026-03-01", ["c"], 3.0), con)
    if con is not None:
        con.close()
    with open_marts(growth_home) as marts:
        assert "mart_probe_forecast" in mart_names(marts)
        got = marts.execute(
            "select cast(forecast_date as varchar), sku_id, units "
            "from marts.mart_probe_forecast order by all"
        ).fetchall()
    assert got == [("2026-03-01", "c", 3.0), ("2026-03-02", "a", 2.0)]


def test_every_declared_python_mart_describes_every_column():
    for contract in all_contracts().values():
        assert contract.description, contract.name
        assert all(c.description for c in contract.columns), contract.name
