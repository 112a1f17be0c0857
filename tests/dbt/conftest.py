"""Running dbt itself against a throwaway DuckDB file, for tests of the dbt project's models."""

from __future__ import annotations

import json
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


def show_rows(
    dbt: Callable[..., subprocess.CompletedProcess],
    warehouse: Path,
    query: str,
    *args: str,
    limit: int = 200,
) -> list[dict]:
    """The rows `dbt show --inline <query>` finds on `warehouse` (dbt's JSON preview), run by
    `dbt` (the fixture), `args` (`--vars ...`) passed on."""
    shown = dbt(
        warehouse,
        "show",
        "--inline",
        query,
        *args,
        "--limit",
        str(limit),
        "--output",
        "json",
        "--log-format",
        "json",
    )
    assert shown.returncode == 0, shown.stdout[-3000:]
    previews = [
        json.loads(line)["data"]["preview"]
        for line in shown.stdout.splitlines()
        if line.startswith("{") and '"preview"' in line
    ]
    return json.loads(previews[-1])


@pytest.fixture
def dbt(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """run_dbt bound to a scratch folder of the test."""

    def run(warehouse: Path, *args: str) -> subprocess.CompletedProcess:
        return run_dbt(warehouse, tmp_path / "dbt", *args)

    return run
