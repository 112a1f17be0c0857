"""`dagster dev -w workspace.yaml` loads the code location cleanly and the UI lists what a data
engineer looks for: grouped, described assets, the daily schedule and both sensors."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parent.parent
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
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {**os.environ, "GROWTH_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
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
        yield data, home / "dagster_dev.log"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_code_location_loads_without_errors_or_warnings(dagster_dev):
    data, log_path = dagster_dev
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
    data, _ = dagster_dev
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
