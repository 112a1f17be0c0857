"""Shared fixtures: every test gets its own throwaway GROWTH_HOME (warehouse, landing, reports,
Dagster instance) under tmp_path, so tests never touch a developer's state or each other's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.settings import Settings, load_settings

_VARS = (
    "GROWTH_HOME",
    "GROWTH_LANDING",
    "GROWTH_WAREHOUSE",
    "GROWTH_SERVING",
    "GROWTH_REPORTS",
    "GROWTH_PII_KEY",
    "DAGSTER_HOME",
)

TEST_PII_KEY = "test-pii-key"


@pytest.fixture
def growth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for var in _VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "growth"
    monkeypatch.setenv("GROWTH_HOME", str(home))
    monkeypatch.setenv("GROWTH_PII_KEY", TEST_PII_KEY)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    settings = load_settings()
    settings.export()
    # export() writes os.environ directly; register them so monkeypatch restores them.
    for var in _VARS:
        monkeypatch.setenv(var, os.environ[var])
    settings.landing.mkdir(parents=True)
    return settings
