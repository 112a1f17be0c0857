"""The dbt project as Dagster sees it, and keeping its manifest current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR

# dagster-dbt finds dbt on PATH (its manifest preparer ignores `dbt_executable`): make the dbt
# of this interpreter's environment the one it finds, even when the venv is not activated.
_ENV_BIN = str(Path(sys.executable).parent)
if _ENV_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _ENV_BIN + os.pathsep + os.environ.get("PATH", "")

growth_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# `dagster dev` re-parses on load; the CLI and CI call ensure_manifest() instead.
growth_dbt_project.prepare_if_dev()

_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Runs `dbt parse` when the manifest is missing or older than the project's files."""
    manifest = project_dir / "target" / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir):
        return manifest
    dbt = Path(sys.executable).parent / "dbt"
    completed = subprocess.run(
        [
            str(dbt) if dbt.exists() else "dbt",
            "parse",
            "--quiet",
            "--profiles-dir",
            str(project_dir),
        ],
        cwd=project_dir,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0 or not manifest.exists():
        detail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        raise RuntimeError("dbt parse failed: " + " | ".join(detail))
    return manifest
