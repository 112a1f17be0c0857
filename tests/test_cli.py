"""The `growth` command line: help everywhere, and one clear sentence (never a traceback) on
bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GROWTH = str(Path(sys.executable).parent / "growth")
COMMANDS = ["simulate", "run", "report", "publish", "demo", "ui", "clv"]


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


# A run whose every step fails for a reason known in advance, on a warehouse folder no one may
# write: `suppliers` is ready (its `_SUCCESS` is there) but must be written to a folder made
# immutable (`chattr +i`: tests run as root, for whom chmod stops nothing); the other sources
# have no `_SUCCESS`. One run serves both tests below.
FAILING_DAY = "2026-08-01"


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, bool]:
    import duckdb

    home = tmp_path_factory.mktemp("failing") / "growth"
    ready = home / "landing" / "suppliers" / FAILING_DAY
    ready.mkdir(parents=True)
    (ready / "_SUCCESS").touch()
    folder = home / "read-only"
    folder.mkdir()
    warehouse = folder / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    (folder / "warehouse.duckdb.lock").touch()  # the lock's file exists; the WAL cannot be made
    read_only = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GROWTH_", "DAGSTER_"))},
        "GROWTH_HOME": str(home),
        "GROWTH_WAREHOUSE": str(warehouse),
        "GROWTH_PII_KEY": "test-pii-key",
    }
    try:
        result = subprocess.run(
            [GROWTH, "run", "--start", FAILING_DAY],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    finally:
        if read_only:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    return result, read_only


def failed_step(result: subprocess.CompletedProcess, step: str) -> str:
    """The part of the one error sentence about one step."""
    assert_one_clear_sentence(result, "the run failed: ")
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error"))
    parts = [part for part in error.split("; ") if f"step {step} failed: " in part]
    assert len(parts) == 1, error
    return parts[0]


def test_a_failed_step_says_its_cause(failed_run):
    result, _ = failed_run
    part = failed_step(result, "raw__ad_platform_daily")
    assert f"LoadError: ads {FAILING_DAY} is not ready: " in part, part
    assert part.endswith("has no _SUCCESS marker"), part
    assert "DagsterExecutionStepExecutionError" not in result.stderr


def test_a_read_only_warehouse_says_the_os_error_not_the_cleanup(failed_run):
    result, read_only = failed_run
    if not read_only:
        pytest.skip("chattr +i is not available here")
    part = failed_step(result, "raw__suppliers")
    assert "warehouse.duckdb.wal" in part and "Operation not permitted" in part, part
    assert "rollback" not in part, part


def test_a_warehouse_that_cannot_be_created_says_why_at_once(growth_home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    warehouse = blocker / "warehouse.duckdb"
    result = growth("run", "--start", FAILING_DAY, env={"GROWTH_WAREHOUSE": str(warehouse)})
    assert_one_clear_sentence(
        result, f"cannot take the write lock of the warehouse {warehouse}: Not a directory"
    )


def test_the_cause_is_found_behind_a_failed_cleanup_and_debug_prints_the_chain(capsys):
    """In process, on a real step failure: an error raised while handling another (a rollback
    that fails after the real error) is reported by the original error; GROWTH_DEBUG's chain
    shows both, with their stacks."""
    import dagster as dg

    from orchestration.cli import failure_reasons

    @dg.asset
    def plain() -> None:
        raise PermissionError(13, "Permission denied", "/home/x/warehouse.duckdb.wal")

    result = dg.materialize([plain], raise_on_error=False)
    assert failure_reasons(result) == [
        "step plain failed: PermissionError: [Errno 13] Permission denied: "
        "'/home/x/warehouse.duckdb.wal'"
    ]

    # The loader's case before its fix: the rollback after a failed commit failed too.
    @dg.asset
    def implicit() -> None:
        try:
            raise PermissionError(13, "Permission denied", "/home/x/warehouse.duckdb.wal")
        except OSError:
            raise RuntimeError("cannot rollback - no transaction is active")  # noqa: B904

    result = dg.materialize([implicit], raise_on_error=False)
    capsys.readouterr()
    reasons = failure_reasons(result, debug=True)
    assert reasons == [
        "step implicit failed: PermissionError: [Errno 13] Permission denied: "
        "'/home/x/warehouse.duckdb.wal'"
    ]
    chain = capsys.readouterr().err
    assert "cannot rollback - no transaction is active" in chain
    assert "Permission denied" in chain
    assert "Stack Trace:" in chain and "test_cli.py" in chain
