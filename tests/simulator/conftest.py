"""Shared small landing zones (built once per test session: the simulator is the slow part)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orchestration.simulator import simulate

START = dt.date(2026, 6, 15)  # the window holds 618, the promotion peak
DAYS = 5


@pytest.fixture(scope="session")
def clean_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    truth = simulate(out, START, DAYS, "small", seed=7)
    return out, truth


@pytest.fixture(scope="session")
def faulty_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("faulty")
    truth = simulate(out, START, 9, "small", seed=11, faults=True)
    return out, truth
