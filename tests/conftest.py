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


# folders whose fixture is built once for all their modules: tests/pipeline's simulated run (on
# both engines), tests/simulator's zones
SHARED_FOLDERS = ("pipeline", "simulator")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # the longest unit of work (the simulated run on both engines) first, so it never starts last
    root = Path(__file__).parent
    items.sort(key=lambda item: Path(str(item.path)).relative_to(root).parts[0] != "pipeline")


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under pytest-xdist, a module's tests stay on one worker, and so do a whole folder's in
    SHARED_FOLDERS: spread over workers, each worker would build the shared fixture again.
    (`--dist loadgroup` would do it with markers, but pytest 9 drops the group xdist 3.8 adds
    to a test's id.)"""
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            parts = path.split("/")
            if len(parts) > 2 and parts[1] in SHARED_FOLDERS:
                return "/".join(parts[:2])
            return path

    return FolderScheduling(config, log)
