"""The marts as the steps after dbt read them (gates, report, serving copy, row counts),
whichever engine built them: one small interface, one implementation per dbt target.

Every reader gets a read-only DuckDB connection on which `marts.<table>` is each mart:
- duckdb: the warehouse file itself, where dbt built them;
- spark: an in-memory DuckDB whose `marts` views read the Parquet files of the Spark tables
  (`$GROWTH_SPARK_DIR/warehouse/marts.db/<table>/`, date partitions included), so nothing
  after dbt starts a JVM, and the report and the BI copy come from exactly what Spark wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.lib.sql import literal
from orchestration.settings import TIMEZONE, Settings

SCHEMA = "marts"


class MartsNotBuilt(RuntimeError):
    """The engine has no marts yet (dbt has not built them)."""


def spark_schema_dir(settings: Settings, schema: str = SCHEMA) -> Path:
    """Where Spark's session catalog keeps the tables of a schema (spark.sql.warehouse.dir)."""
    return settings.spark / "warehouse" / f"{schema}.db"


def spark_tables(settings: Settings, schema: str = SCHEMA) -> dict[str, Path]:
    """The tables Spark built in a schema: each a folder of Parquet files."""
    folder = spark_schema_dir(settings, schema)
    if not folder.is_dir():
        return {}
    return {
        table.name: table
        for table in sorted(folder.iterdir())
        if table.is_dir() and not table.name.startswith(".") and any(table.rglob("*.parquet"))
    }


def mount_spark_marts(
    con: duckdb.DuckDBPyConnection, settings: Settings, schema: str = SCHEMA
) -> list[str]:
    """Creates in `con`'s schema `schema` one view per mart Spark built, over its Parquet
    files; returns their names."""
    tables = spark_tables(settings)
    if not tables:
        raise MartsNotBuilt(
            f"Spark has built no marts in {spark_schema_dir(settings)}: run dbt on the spark "
            "target first (GROWTH_DBT_TARGET=spark growth run ...)"
        )
    con.execute(f"create schema if not exists {schema}")
    for name, folder in tables.items():
        # Spark writes a date partition as a folder date_day=YYYY-MM-DD; hive partitioning
        # reads it back as the DATE column it was.
        glob = literal((folder / "**" / "*.parquet").as_posix())
        con.execute(
            f'create or replace view {schema}."{name}" as select * from '
            f"read_parquet({glob}, hive_partitioning = true)"
        )
    return list(tables)


@contextmanager
def open_marts(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on which `marts.<table>` is every mart of the configured engine."""
    if settings.dbt_target == "spark":
        con = duckdb.connect()
        con.execute(f"set TimeZone = '{TIMEZONE}'")
        try:
            mount_spark_marts(con, settings)
        except BaseException:
            con.close()
            raise
    else:
        if not settings.warehouse.exists():
            raise MartsNotBuilt(f"warehouse {settings.warehouse} does not exist yet")
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        con.execute(f"set TimeZone = '{TIMEZONE}'")
    try:
        yield con
    finally:
        con.close()


def mart_names(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> list[str]:
    """The tables and views of `marts` on a connection from open_marts (or of a database
    attached to it as `catalog`)."""
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = coalesce(?, current_database()) and table_schema = ? "
            "order by 1",
            [catalog, SCHEMA],
        ).fetchall()
    ]
