"""Resources shared by every domain: the DuckDB warehouse and the dbt CLI."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version

from orchestration.lib.dbt_project import growth_dbt_project
from orchestration.lib.warehouse_lock import hold_warehouse, run_holder_fields
from orchestration.settings import DUCKDB_MEMORY_LIMIT, load_settings


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (`GROWTH_WAREHOUSE`).

    DuckDB allows one writing process per file, so every connection is short-lived: opened for
    one step and closed before dbt (a separate process) needs the file. And one run at a time
    writes it: a run holds the warehouse lock (`warehouse_lock`) from its start to its end, so a
    run that finds another one writing fails before its first step, naming that run.
    """

    path: str

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        # Resources are set up once per run by the in-process executor, so this holds the lock
        # for the whole run. Runs launched by the UI, the schedule or a sensor take it here; in
        # a `growth` process, which took it before launching this run, this re-enters it.
        run = context.run
        fields = run_holder_fields(
            run.run_id if run else None, run.job_name if run else None, run.tags if run else {}
        )
        with hold_warehouse(Path(self.path), **fields):
            yield self

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            con.execute("set TimeZone = 'Asia/Shanghai'")
            if not read_only:
                con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
                # the dbt build vacuums, on the nights it is due (orchestration/lib/vacuum.py)
                con.execute("set max_vacuum_tasks = 0")
            yield con
        finally:
            con.close()


class GrowthDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource, without two costs it pays on every invocation that buy
    this project nothing (4.5 s of a 9 s dbt step on a small day, measured):

    - `dbt --version` in a subprocess, to learn the version of dbt it is about to run: here it
      is always the dbt-core of this environment (`dbt_executable`), whose version is known;
    - a dbt adapter built inside the run's process (loading the project's macros), used only
      by `fetch_row_counts` and `fetch_column_metadata`, which this project does not call (row
      counts are taken after dbt exits: assets/dbt/definitions.py). On DuckDB it is also a
      second connection to the warehouse while dbt writes it.

    tests/test_defs.py checks that dagster-dbt still has the two members overridden here."""

    @cached_property
    def _cli_version(self) -> version.Version:
        from dbt.version import __version__

        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        return None


def dbt_executable() -> str:
    """dbt from this interpreter's environment, so a run never picks another dbt on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def build_resources() -> dict[str, object]:
    # Defaults derive from GROWTH_HOME; exporting them lets EnvVar resolve at launch time,
    # so a run always writes the warehouse its environment names.
    load_settings().export()
    return {
        "warehouse": WarehouseResource(path=dg.EnvVar("GROWTH_WAREHOUSE")),
        "dbt": GrowthDbtCliResource(
            project_dir=growth_dbt_project, dbt_executable=dbt_executable()
        ),
    }
