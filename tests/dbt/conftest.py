"""Running dbt itself against a throwaway DuckDB file, for tests of the dbt project's models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestration.settings import DBT_PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"


def run_dbt(warehouse: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` on `warehouse`; target and logs go to `scratch`, so neither the project's
    target/ (the manifest Dagster loads) nor another test's run is touched."""
    env = {
        **os.environ,
        "GROWTH_WAREHOUSE": str(warehouse),
        "GROWTH_DBT_TARGET": "duckdb",
        "PATH": str(DBT.parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(scratch / "target"),
            "--log-path",
            str(scratch / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def dbt(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """run_dbt bound to a scratch folder of the test."""

    def run(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
        return run_dbt(warehouse, tmp_path / "dbt", *args)

    return run
