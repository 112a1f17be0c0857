"""Where the warehouse keeps its state, read from the environment (interfaces.md).

Every path derives from `GROWTH_HOME` unless its own variable is set, so one variable moves a
whole installation. Paths are resolved to absolute ones and exported back into the environment,
because dbt runs as a child process with another working directory and must see the same files.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

TIMEZONE = "Asia/Shanghai"

# The engines dbt can build the marts on (profiles.yml targets).
DBT_TARGETS = ("duckdb", "spark")

# DuckDB's memory ceiling for pipeline connections: above it DuckDB spills to disk, so a large
# day loads within a laptop's (and the 2-core CI machine's) budget instead of failing.
DUCKDB_MEMORY_LIMIT = os.environ.get("GROWTH_DUCKDB_MEMORY_LIMIT", "1GB")


@dataclass(frozen=True)
class Settings:
    home: Path
    landing: Path
    warehouse: Path
    serving: Path
    reports: Path
    spark: Path

    @property
    def raw_lake(self) -> Path:
        """The loader's Parquet data files, beside the warehouse and named after it."""
        return self.warehouse.with_name(self.warehouse.name + ".raw")

    @property
    def dbt_target(self) -> str:
        """The engine dbt builds the marts on (`GROWTH_DBT_TARGET`): duckdb or spark."""
        target = os.environ.get("GROWTH_DBT_TARGET") or "duckdb"
        if target not in DBT_TARGETS:
            raise ValueError(f"GROWTH_DBT_TARGET={target!r} is not one of {', '.join(DBT_TARGETS)}")
        return target

    @property
    def dbt_run_target(self) -> Path:
        """The dbt asset's target folder: its last invocation's artifacts and log, and dbt's
        partial-parse state, one folder per home and engine. A run then parses only what
        changed since the last one, and no run leaves a folder of its own in the project."""
        return self.home / "dbt" / self.dbt_target

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.home / "dagster")

    @property
    def run_failure_log(self) -> Path:
        return self.home / "run_failures.jsonl"

    def export(self) -> None:
        """Publishes the resolved paths to child processes (dbt, dagster dev)."""
        os.environ["GROWTH_HOME"] = str(self.home)
        os.environ["GROWTH_LANDING"] = str(self.landing)
        os.environ["GROWTH_WAREHOUSE"] = str(self.warehouse)
        os.environ["GROWTH_SERVING"] = str(self.serving)
        os.environ["GROWTH_REPORTS"] = str(self.reports)
        os.environ["GROWTH_RAW_LAKE"] = str(self.raw_lake)
        os.environ["GROWTH_SPARK_DIR"] = str(self.spark)
        os.environ["GROWTH_DBT_PROJECT_DIR"] = str(DBT_PROJECT_DIR)


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default.resolve()


def load_settings() -> Settings:
    home = _path("GROWTH_HOME", Path(".growth"))
    return Settings(
        home=home,
        landing=_path("GROWTH_LANDING", home / "landing"),
        warehouse=_path("GROWTH_WAREHOUSE", home / "warehouse.duckdb"),
        serving=_path("GROWTH_SERVING", home / "serving" / "growth.duckdb"),
        reports=_path("GROWTH_REPORTS", home / "reports"),
        spark=_path("GROWTH_SPARK_DIR", home / "spark"),
    )


def pii_key(settings: Settings | None = None) -> bytes:
    """The secret behind pseudonymous keys: `GROWTH_PII_KEY`, else a per-home random key.

    The generated key lives in the home folder (never in the repository) with owner-only
    permissions, so keys stay stable across runs of one installation.
    """
    env_key = os.environ.get("GROWTH_PII_KEY")
    if env_key:
        return env_key.encode("utf-8")
    settings = settings or load_settings()
    key_file = settings.home / "pii.key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode("utf-8")
