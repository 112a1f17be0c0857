"""One writer per warehouse, between real processes: a run that finds another one writing the
warehouse refuses at once and names it; a holder that exits or is killed leaves no lock."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from orchestration.lib.resources import WarehouseResource
from orchestration.lib.warehouse_lock import (
    WarehouseBusyError,
    hold_warehouse,
    is_held,
    lock_path,
    read_holder,
)
from orchestration.settings import PROJECT_ROOT
from tests.test_cli import GROWTH, assert_one_clear_sentence

# A run refused by the lock never loads Dagster; this bound is generous for a loaded 2-core
# machine (measured: about a second) and far below any real run (20 s or more).
AT_ONCE_SECONDS = 8.0
HOLDER_RUN_ID = "5eed1e55-0000-4000-8000-000000000001"

# Takes the lock the way `growth run --start 2026-03-01 --end 2026-03-07` records it and holds
# it until its stdin closes.
HOLDER = """
import sys
from pathlib import Path
from orchestration.lib.warehouse_lock import hold_warehouse
with hold_warehouse(
    Path(sys.argv[1]),
    run_id=sys.argv[2],
    job="daily_pipeline",
    partitions="2026-03-01..2026-03-07",
    command="growth run --start 2026-03-01 --end 2026-03-07",
    launched_by="growth",
):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_holder(warehouse: Path) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse), HOLDER_RUN_ID],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        if process.poll() is None:
            process.stdin.close()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def timed_growth(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run([GROWTH, *args], capture_output=True, text=True, timeout=300)
    return result, time.monotonic() - started


def growth(*args: str) -> subprocess.CompletedProcess:
    return timed_growth(*args)[0]


def test_a_run_refuses_at_once_while_another_writes_and_names_it(growth_home):
    warehouse = growth_home.warehouse
    with lock_holder(warehouse) as holder:
        result, seconds = timed_growth("run", "--start", "2026-08-01")
        assert_one_clear_sentence(
            result,
            f"the warehouse {warehouse} is being written by run {HOLDER_RUN_ID[:8]}",
            "(growth run --start 2026-03-01 --end 2026-03-07",
            f"pid {holder.pid}",
            "since ",
            "wait for it to finish or stop it",
        )
        assert seconds < AT_ONCE_SECONDS, f"refused after {seconds:.1f}s"
        assert "Dagster run" not in result.stderr  # refused before any run was launched
        # Publishing reads the warehouse, which DuckDB refuses while it is written: same rule.
        warehouse.touch()
        assert_one_clear_sentence(growth("publish"), f"pid {holder.pid}")
    assert holder.returncode == 0
    assert not is_held(warehouse)
    with hold_warehouse(warehouse) as mine:
        assert read_holder(warehouse) == mine


def test_a_killed_writer_leaves_no_stale_lock(growth_home):
    warehouse = growth_home.warehouse
    with lock_holder(warehouse) as holder:
        assert is_held(warehouse)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=20)
        assert holder.returncode == -signal.SIGKILL
        # The kernel dropped the lock with the process; its record may remain, unheld.
        assert not is_held(warehouse)
        with hold_warehouse(warehouse, run_id="after-the-kill") as mine:
            assert mine.pid == os.getpid()
            assert read_holder(warehouse).run_id == "after-the-kill"
    assert lock_path(warehouse).read_text() == ""  # released: the file names nobody


def test_two_real_runs_the_second_refuses_naming_the_first(growth_home):
    """The issue's measurement: two `growth run`s on one home. The first holds the warehouse
    from its start (and its own Dagster run re-enters the lock); the second refuses at once."""
    day = dt.date(2026, 8, 1)
    (growth_home.landing / "suppliers" / day.isoformat()).mkdir(parents=True)  # no _SUCCESS
    first = subprocess.Popen(
        [GROWTH, "run", "--start", day.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while read_holder(growth_home.warehouse) is None:
            assert first.poll() is None and time.monotonic() < deadline, "first run took no lock"
            time.sleep(0.1)
        holder = read_holder(growth_home.warehouse)
        second, seconds = timed_growth("run", "--start", day.isoformat())
        _, first_err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert holder.pid == first.pid
    assert_one_clear_sentence(
        second,
        f"is being written by run {holder.run_id[:8]} (growth run --start {day}, pid {first.pid}",
    )
    assert seconds < AT_ONCE_SECONDS, f"refused after {seconds:.1f}s"
    # The first run did its work under the lock it took: its steps ran (and failed for their
    # own reason, a landing zone that is not ready), and its Dagster run is the one the lock
    # named; its own resource re-entered the lock instead of refusing it.
    assert f"Dagster run {holder.run_id[:8]}" in first_err
    assert "is being written" not in first_err
    assert "step raw__suppliers failed: " in first_err
    assert not is_held(growth_home.warehouse)


def test_a_run_launched_by_dagster_fails_before_its_first_step_while_the_cli_writes(
    growth_home,
):
    """Runs from the UI, the schedule or a sensor execute the job in a run worker, without the
    CLI: the job's warehouse resource takes the lock as the run starts."""
    from orchestration.cli import _load_definitions

    job = _load_definitions().resolve_job_def("daily_pipeline")
    with lock_holder(growth_home.warehouse) as holder:
        started = time.monotonic()
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={
                "dagster/asset_partition_range_start": "2026-08-01",
                "dagster/asset_partition_range_end": "2026-08-01",
            },
            raise_on_error=False,
        )
        seconds = time.monotonic() - started
    assert not result.success
    assert not [event for event in result.all_events if event.is_step_start]
    failures = [event for event in result.all_events if event.is_resource_init_failure]
    assert failures
    message = failures[0].engine_event_data.error.message
    assert f"is being written by run {HOLDER_RUN_ID[:8]}" in message
    assert f"pid {holder.pid}" in message
    assert seconds < AT_ONCE_SECONDS, f"failed after {seconds:.1f}s"


def test_the_lock_is_reentrant_for_its_run_only(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"

    @dg.asset(required_resource_keys={"warehouse"})
    def writes(context) -> None:  # noqa: ANN001 (Dagster reads the annotation as a string)
        assert read_holder(warehouse).run_id == context.run.run_id

    job = dg.Definitions(
        assets=[writes],
        jobs=[dg.define_asset_job("writes_job")],
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
    ).resolve_job_def("writes_job")
    run_a, run_b = (str(uuid.uuid4()) for _ in range(2))
    # The CLI's case: the process took the lock for the run it then executes.
    with hold_warehouse(warehouse, run_id=run_a, command="growth run --start 2026-08-01"):
        assert job.execute_in_process(run_id=run_a).success
        assert is_held(warehouse)
        # Another run in the process that is writing is refused like one from elsewhere.
        busy = pytest.raises(WarehouseBusyError, match=f"being written by run {run_a[:8]}")
        with busy, hold_warehouse(warehouse, run_id=run_b):
            pass
        refused = job.execute_in_process(run_id=run_b, raise_on_error=False)
        assert not refused.success
    assert not is_held(warehouse)
    # Alone, a run takes and releases the lock itself.
    assert job.execute_in_process().success
    assert not is_held(warehouse)


# A Dagster run launched by the sensor, as a run worker executes it: its warehouse resource
# holds the lock while its one step waits for stdin to close.
DAGSTER_RUN = """
import sys
import dagster as dg
from orchestration.lib.resources import WarehouseResource

@dg.asset(required_resource_keys={"warehouse"})
def waits() -> None:
    print("held", flush=True)
    sys.stdin.read()

dg.materialize(
    [waits],
    resources={"warehouse": WarehouseResource(path=sys.argv[1])},
    tags={"dagster/partition": "2026-08-01", "dagster/sensor_name": "landing_zone_sensor"},
)
"""


def test_a_cli_run_refuses_while_a_dagster_run_writes_and_names_it(growth_home):
    process = subprocess.Popen(
        [sys.executable, "-c", DAGSTER_RUN, str(growth_home.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert process.stdout.readline().strip() == "held"
        holder = read_holder(growth_home.warehouse)
        result, seconds = timed_growth("run", "--start", "2026-08-01")
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    assert_one_clear_sentence(
        result,
        f"is being written by run {holder.run_id[:8]} (__ephemeral_asset_job__ 2026-08-01 "
        f"launched by sensor landing_zone_sensor, pid {process.pid}, since ",
    )
    assert seconds < AT_ONCE_SECONDS, f"refused after {seconds:.1f}s"
    assert process.returncode == 0
    assert not is_held(growth_home.warehouse)
