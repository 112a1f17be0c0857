"""Marts built in Python (a forecast, a CLV fit, a Markov chain): their contracts and how they
are written, on either engine.

A Python mart is declared in `assets/<domain>/marts.yml`, in the shape of a dbt model's YAML:

    marts:
      - name: mart_demand_forecast
        description: ...
        primary_key: [forecast_date, sku_id, days_ahead]
        replace_by: forecast_date        # optional: a write replaces these values only
        columns:
          - {name: forecast_date, data_type: date, description: ...}

The contract is enforced on every write, as dbt enforces a model's: the frame must carry
exactly the declared columns (any order), each castable to its declared type, the key unique
and not null. It is written where the engine dbt builds on keeps its marts, so every reader
(`open_marts`: the gates, the report, the serving copy, BI) sees it like any dbt mart:
- duckdb: a table `marts.<name>` of the warehouse file, through the run's writer connection;
- spark: a Parquet table folder `$GROWTH_SPARK_DIR/warehouse/marts.db/<name>/`, one
  subfolder per `replace_by` value (`forecast_date=2026-03-01/`), as Spark writes a
  partitioned table, each replaced by an atomic rename.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml

from orchestration.lib.marts import SCHEMA, spark_schema_dir
from orchestration.lib.sql import literal, transaction
from orchestration.settings import PROJECT_ROOT, Settings

ASSETS_DIR = PROJECT_ROOT / "assets"
# where a Spark-engine write stages its folders (hidden: readers list only visible tables)
WRITING = ".writing"


class ContractError(ValueError):
    """A frame does not match its mart's contract."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str


@dataclass(frozen=True)
class MartContract:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    replace_by: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl_columns(self) -> str:
        return ", ".join(f'"{c.name}" {c.data_type}' for c in self.columns)


def load_contracts(path: Path) -> dict[str, MartContract]:
    """The contracts of one `marts.yml`."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    contracts = {}
    for entry in document.get("marts", []):
        columns = tuple(
            Column(c["name"], c["data_type"], (c.get("description") or "").strip())
            for c in entry["columns"]
        )
        missing = [c.name for c in columns if not c.description]
        if missing:
            raise ContractError(f"{path}: {entry['name']} has undescribed columns {missing}")
        contract = MartContract(
            name=entry["name"],
            description=" ".join(str(entry["description"]).split()),
            columns=columns,
            primary_key=tuple(entry["primary_key"]),
            replace_by=entry.get("replace_by"),
        )
        unknown = [k for k in contract.primary_key if k not in contract.column_names]
        if unknown or (contract.replace_by and contract.replace_by not in contract.column_names):
            raise ContractError(f"{path}: {contract.name} keys name undeclared columns")
        contracts[contract.name] = contract
    return contracts


def all_contracts(assets_dir: Path = ASSETS_DIR) -> dict[str, MartContract]:
    """Every Python mart of every domain (`assets/*/marts.yml`)."""
    contracts: dict[str, MartContract] = {}
    for path in sorted(assets_dir.glob("*/marts.yml")):
        contracts.update(load_contracts(path))
    return contracts


def conform(contract: MartContract, table: pa.Table) -> pa.Table:
    """The frame cast to the contract (its columns in the declared order), or ContractError
    naming what differs: a missing or extra column, a value that does not cast, a key that is
    null or repeated."""
    have, want = set(table.column_names), set(contract.column_names)
    if have != want:
        raise ContractError(
            f"{contract.name}: columns differ from its contract "
            f"(missing {sorted(want - have)}, not declared {sorted(have - want)})"
        )
    con = duckdb.connect()
    try:
        con.register("frame", table)
        casts = ", ".join(
            f'cast("{c.name}" as {c.data_type}) as "{c.name}"' for c in contract.columns
        )
        try:
            typed = con.sql(f"select {casts} from frame").to_arrow_table()
        except duckdb.Error as exc:
            raise ContractError(f"{contract.name}: a value does not fit its type: {exc}") from exc
        con.register("typed", typed)
        key = ", ".join(f'"{k}"' for k in contract.primary_key)
        nulls = " or ".join(f'"{k}" is null' for k in contract.primary_key)
        (null_keys,) = con.execute(f"select count(*) from typed where {nulls}").fetchone()
        (repeated,) = con.execute(
            f"select count(*) from (select {key} from typed group by all having count(*) > 1)"
        ).fetchone()
    finally:
        con.close()
    if null_keys or repeated:
        raise ContractError(
            f"{contract.name}: its key ({key}) is null on {null_keys} rows and repeated on "
            f"{repeated} values"
        )
    return typed


def write_mart(
    settings: Settings,
    contract: MartContract,
    table: pa.Table,
    warehouse: duckdb.DuckDBPyConnection | None = None,
) -> int:
    """Writes a Python mart on the engine of `settings` and returns its rows written. With
    `replace_by`, only the values of that column present in `table` are replaced; otherwise the
    whole mart. `warehouse`: the run's writer connection (the duckdb engine needs it)."""
    typed = conform(contract, table)
    if settings.dbt_target == "spark":
        _write_spark(settings, contract, typed)
    else:
        if warehouse is None:
            raise ValueError("writing a mart to the DuckDB warehouse needs its writer connection")
        _write_duckdb(warehouse, contract, typed)
    return typed.num_rows


def _write_duckdb(con: duckdb.DuckDBPyConnection, contract: MartContract, typed: pa.Table):
    relation = f'{SCHEMA}."{contract.name}"'
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"create table if not exists {relation} ({contract.ddl_columns()})")
    existing = [r[0] for r in con.execute(f"select * from {relation} limit 0").description]
    if existing != contract.column_names:
        raise ContractError(
            f"{relation} has columns {existing}, its contract {contract.column_names}: "
            f"drop the table to rebuild it under the new contract"
        )
    with transaction(con, mart_rows=typed):
        if contract.replace_by:
            con.execute(
                f'delete from {relation} where "{contract.replace_by}" in '
                f'(select distinct "{contract.replace_by}" from mart_rows)'
            )
        else:
            con.execute(f"delete from {relation}")
        con.execute(f"insert into {relation} select * from mart_rows")


def _write_spark(settings: Settings, contract: MartContract, typed: pa.Table) -> None:
    schema_dir = spark_schema_dir(settings)
    folder = schema_dir / contract.name
    con = duckdb.connect()
    try:
        con.register("mart_rows", typed)
        if contract.replace_by:
            column = contract.replace_by
            values = [
                v for (v,) in con.execute(f'select distinct "{column}" from mart_rows').fetchall()
            ]
            for value in values:
                rows = con.sql(
                    f'select * exclude ("{column}") from mart_rows where "{column}" = ?',
                    params=[value],
                ).to_arrow_table()
                _replace_folder(schema_dir, folder / f"{column}={value}", rows, con)
        else:
            _replace_folder(schema_dir, folder, typed, con)
    finally:
        con.close()


def _replace_folder(
    schema_dir: Path, target: Path, rows: pa.Table, con: duckdb.DuckDBPyConnection
) -> None:
    """Writes `rows` as one Parquet file in a new folder, then swaps it for `target`. New and
    old folders wait in `<schema>/.writing/`, which no reader lists, so a crash leaves nothing
    a reader would take for part of a mart."""
    writing = schema_dir / WRITING
    writing.mkdir(parents=True, exist_ok=True)
    fresh = writing / uuid.uuid4().hex
    fresh.mkdir()
    con.register("part_rows", rows)
    con.execute(f"copy part_rows to {literal(str(fresh / 'part-00000.parquet'))} (format parquet)")
    con.unregister("part_rows")
    old = writing / f"old-{uuid.uuid4().hex}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def column_schema(contract: MartContract) -> Any:
    """The contract as Dagster's column schema (the asset's `dagster/column_schema`)."""
    import dagster as dg

    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, c.data_type, description=c.description) for c in contract.columns
        ]
    )


def python_mart_properties(
    contract: MartContract, deps: list[Any], group: str, kinds: set[str]
) -> dict[str, Any]:
    """What Dagster shows of a Python mart, from its contract: one asset spec's properties."""
    return {
        "description": contract.description,
        "deps": deps,
        "group_name": group,
        "owners": ["team:growth-data"],
        "kinds": {"python", *kinds},
        "metadata": {"dagster/column_schema": column_schema(contract)},
    }


def python_mart_execution() -> dict[str, Any]:
    """How every Python mart's asset runs: the nightly partitions, a backfill as one run, and
    the warehouse's single writer (pool and resource)."""
    from orchestration.lib.partitions import daily_partitions, single_run

    return {
        "partitions_def": daily_partitions,
        "backfill_policy": single_run,
        "pool": "warehouse",
        "required_resource_keys": {"warehouse"},
    }


def python_mart_asset(contract: MartContract, deps: list[Any], group: str, kinds: set[str]) -> Any:
    """The `@asset` decorator of a Python mart that writes one contract."""
    import dagster as dg

    return dg.asset(
        key=contract.name,
        **python_mart_properties(contract, deps, group, kinds),
        **python_mart_execution(),
    )
