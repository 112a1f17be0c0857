"""The `growth` command line: help everywhere, and one clear sentence (never a traceback) on
bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GROWTH = str(Path(sys.executable).parent / "growth")
COMMANDS = ["simulate", "run", "report", "publish", "demo", "ui"]


def growth(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [GROWTH, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_top_level_help_lists_every_command():
    result = growth("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = growth(command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def assert_one_clear_sentence(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["run", "--start", "2026-13-01"], ["'2026-13-01' is not a date"]),
        (["run", "--start", "2026-03-02", "--end", "2026-03-01"], ["before --start"]),
        (["report", "--date", "yesterday"], ["not a date"]),
        (["simulate", "--start", "1st of May"], ["not a date"]),
        (["simulate", "--start", "2026-03-01", "--scale", "huge"], ["huge"]),
        (["simulate", "--start", "2026-03-01", "--days", "0"], ["--days"]),
    ],
)
def test_bad_arguments_fail_with_one_sentence(args, fragments, growth_home):
    assert_one_clear_sentence(growth(*args), *fragments)


def test_run_without_a_landing_zone_says_so(growth_home, tmp_path):
    missing = tmp_path / "nowhere"
    result = growth("run", "--start", "2026-03-01", env={"GROWTH_LANDING": str(missing)})
    assert_one_clear_sentence(result, "landing zone", "does not exist")


def test_report_without_a_warehouse_says_so(growth_home):
    result = growth("report", "--date", "2026-03-01")
    assert_one_clear_sentence(result, "does not exist yet")


def test_run_outside_the_partitioned_dates_says_so(growth_home):
    result = growth("run", "--start", "1999-01-01")
    assert_one_clear_sentence(result, "outside the business dates")
