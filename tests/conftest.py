"""Shared fixtures: every test gets its own throwaway GROWTH_HOME (warehouse, landing, reports,
Dagster instance) under tmp_path, so tests never touch a developer's state or each other's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.settings import Settings, load_settings

GROWTH_VARS = (
    "GROWTH_HOME",
    "GROWTH_LANDING",
    "GROWTH_WAREHOUSE",
    "GROWTH_SERVING",
    "GROWTH_REPORTS",
    "GROWTH_RAW_LAKE",
    "GROWTH_SPARK_DIR",
    "GROWTH_DBT_TARGET",
    "GROWTH_PII_KEY",
    "DAGSTER_HOME",
)

TEST_PII_KEY = "test-pii-key"


@pytest.fixture
def growth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in GROWTH_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "growth"
    monkeypatch.setenv("GROWTH_HOME", str(home))
    monkeypatch.setenv("GROWTH_PII_KEY", TEST_PII_KEY)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    settings = load_settings()
    settings.export()
    # export() writes os.environ directly; register them so monkeypatch restores them.
    for var in GROWTH_VARS:
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
    settings.landing.mkdir(parents=True)
    return settings


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), a module's tests stay on one worker, and so do a
    folder's whose fixture is built once for all its modules (tests/pipeline's simulated run,
    tests/simulator's zones): spread over workers, each worker would build it again."""
    root = Path(__file__).parent
    # the longest group (the simulated run on both engines) first, so it never starts last
    items.sort(key=lambda item: Path(str(item.path)).relative_to(root).parts[0] != "pipeline")
    for item in items:
        relative = Path(str(item.path)).relative_to(root)
        shared_run = relative.parts[0] in ("pipeline", "simulator")
        group = relative.parts[0] if shared_run else str(relative)
        item.add_marker(pytest.mark.xdist_group(group))
