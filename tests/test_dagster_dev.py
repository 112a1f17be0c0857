"""`dagster dev -w workspace.yaml` loads the code location cleanly and the UI lists what a data
engineer looks for: grouped, described assets, the daily schedule and both sensors."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.lib.dagster_storage import instance_yaml

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_DATE = dt.date(2026, 3, 1)
DAGSTER = str(Path(sys.executable).parent / "dagster")

QUERY = """
{
  workspaceOrError { ... on Workspace { locationEntries {
      name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } }
  } } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
      schedules { name cronSchedule executionTimezone }
      sensors { name }
      assetNodes { assetKey { path } groupName description }
  } } }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui")
    (home / "dagster").mkdir()
    # The instance `growth` writes: one run at a time on the single-file warehouse, its events
    # in the pooled SQLite storage (which the UI and its run workers must load too).
    (home / "dagster" / "dagster.yaml").write_text(instance_yaml())
    from orchestration.simulator import simulate

    simulate(home / "landing", LAUNCH_DATE, 1, scale="small", seed=2)
    port = free_port()
    # Only GROWTH_HOME: paths other tests exported into this process must not leak in.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("GROWTH_", "DAGSTER_"))}
    env = {**inherited, "GROWTH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    log = (home / "dagster_dev.log").open("w")
    process = subprocess.Popen(
        [DAGSTER, "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        data = None
        while time.monotonic() < deadline:
            try:
                data = graphql(port)
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["loadStatus"] == "LOADED":
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(2)
        yield data, home / "dagster_dev.log", port, env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_code_location_loads_without_errors_or_warnings(dagster_dev):
    data, log_path, _, _ = dagster_dev
    assert data is not None, log_path.read_text()[-3000:]
    entry = data["workspaceOrError"]["locationEntries"][0]
    assert entry["name"] == "growth"
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
    log = log_path.read_text()
    problems = [
        line
        for line in log.splitlines()
        if ("WARNING" in line or "ERROR" in line or "Warning:" in line)
        and "dev_command` is superseded" not in line  # about the dagster CLI, not our code
    ]
    assert not problems, problems


def test_ui_lists_groups_descriptions_schedule_and_sensors(dagster_dev):
    data, _, _, _ = dagster_dev
    repository = data["repositoriesOrError"]["nodes"][0]
    assert {s["name"] for s in repository["sensors"]} >= {
        "landing_zone_sensor",
        "run_failure_sensor",
    }
    schedule = next(s for s in repository["schedules"] if s["name"] == "daily_pipeline_schedule")
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == (
        "0 6 * * *",
        "Asia/Shanghai",
    )
    for node in repository["assetNodes"]:
        assert node["groupName"] not in (None, "default"), node
        assert node["description"], node


RUNS = "{ runsOrError { ... on Runs { results { runId status jobName } } } }"


def test_a_run_launched_through_the_instance_materializes_the_date(dagster_dev):
    """What the UI's Materialize button (or the sensor) does: queue a partitioned run that the
    daemon launches in its own process, resources resolved from the environment."""
    _, log_path, port, env = dagster_dev
    launched = subprocess.run(
        [
            DAGSTER,
            "job",
            "launch",
            "-w",
            "workspace.yaml",
            "-j",
            "daily_pipeline",
            "--tags",
            json.dumps({"dagster/partition": LAUNCH_DATE.isoformat()}),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert launched.returncode == 0, launched.stderr[-2000:]
    deadline = time.monotonic() + 420
    status = None
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps({"query": RUNS}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            runs = json.loads(response.read())["data"]["runsOrError"]["results"]
        status = runs[0]["status"] if runs else None
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(3)
    assert status == "SUCCESS", log_path.read_text()[-4000:]
    report = Path(env["GROWTH_HOME"]) / "reports" / LAUNCH_DATE.isoformat() / "evaluation.html"
    assert report.exists()
