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
# Folders whose modules share a fixture built once per worker, and the fixtures: a module of
# the folder that uses none of them (the report gate's own homes) is scheduled on its own.
SHARED_FOLDERS = {
    "pipeline": ("simulated_run", "spark_run"),
    "simulator": ("clean_zone", "faulty_zone"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # the longest unit of work (the simulated run on both engines) first, so it never starts last
    root = Path(__file__).parent
    items.sort(key=lambda item: Path(str(item.path)).relative_to(root).parts[0] != "pipeline")


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under pytest-xdist, a module's tests stay on one worker, and so do the modules of a folder
    in SHARED_FOLDERS that use its shared fixtures: spread over workers, each worker would build
    the shared fixture again.
    (`--dist loadgroup` would do it with markers, but pytest 9 drops the group xdist 3.8 adds
    to a test's id.)"""
    from xdist.scheduler import LoadScopeScheduling

    root = Path(__file__).parent.parent
    shares: dict[str, bool] = {}

    def uses_shared_fixture(path: str, fixtures: tuple[str, ...]) -> bool:
        # the controller collects nothing: a module says what it uses in its text
        if path not in shares:
            text = (root / path).read_text() if (root / path).is_file() else ""
            shares[path] = any(name in text for name in fixtures)
        return shares[path]

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            parts = path.split("/")
            if (
                len(parts) > 2
                and parts[1] in SHARED_FOLDERS
                and uses_shared_fixture(path, SHARED_FOLDERS[parts[1]])
            ):
                return "/".join(parts[:2])
            return path

    return FolderScheduling(config, log)
