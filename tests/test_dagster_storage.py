"""The Dagster instance a growth home gets: its dagster.yaml, and the pooled event log storage
behind it (orchestration/lib/dagster_storage.py)."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.cli import _prepare_dagster
from orchestration.lib import dagster_storage
from orchestration.lib.dagster_storage import (
    INSTANCE_HEADER,
    PooledSqliteEventLogStorage,
    instance_yaml,
)
from orchestration.settings import Settings


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-03-01"))
def tiny(context) -> dg.MaterializeResult:  # noqa: ANN001 (Dagster reads the hint unresolved)
    return dg.MaterializeResult(metadata={"day": context.partition_key})


@dg.asset_check(asset=tiny)
def tiny_is_fine() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


JOB = dg.Definitions(
    assets=[tiny], asset_checks=[tiny_is_fine], jobs=[dg.define_asset_job("tiny_job")]
).resolve_job_def("tiny_job")


def test_a_fresh_home_gets_the_pooled_storage(growth_home: Settings) -> None:
    _prepare_dagster(growth_home)
    config = growth_home.dagster_home / "dagster.yaml"
    assert config.read_text() == instance_yaml()
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        # Dagster's own layout, so a home written before (and the UI) read the same files
        assert instance.event_log_storage._base_dir == str(
            growth_home.dagster_home / "history" / "runs"
        )


def test_growth_updates_its_own_file_and_leaves_a_users_alone(growth_home: Settings) -> None:
    config = growth_home.dagster_home / "dagster.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"{INSTANCE_HEADER}: an older version\ntelemetry:\n  enabled: false\n")
    _prepare_dagster(growth_home)
    assert config.read_text() == instance_yaml()
    users = "telemetry:\n  enabled: false\n"
    config.write_text(users)
    _prepare_dagster(growth_home)
    assert config.read_text() == users


def test_runs_events_survive_the_process_and_evicted_engines(
    growth_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two engines at most: the third run's shard closes the first's
    monkeypatch.setattr(dagster_storage, "OPEN_SHARDS", 2)
    _prepare_dagster(growth_home)
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    with dg.DagsterInstance.get() as instance:
        runs = [JOB.execute_in_process(instance=instance, partition_key=day).run_id for day in days]
        assert len(instance.event_log_storage._engines) == 2
    # another instance on the same home (the UI, the next run) reads what was stored
    with dg.DagsterInstance.get() as instance:
        for run_id in runs:
            records = instance.get_records_for_run(run_id).records
            types = {r.event_log_entry.dagster_event_type for r in records}
            assert dg.DagsterEventType.RUN_SUCCESS in types
            assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in types
        materialized = instance.get_materialized_partitions(dg.AssetKey("tiny"))
        assert materialized == set(days)
        # wiping deletes the shards' files, which no open engine may hold
        instance.wipe()
        assert instance.get_materialized_partitions(dg.AssetKey("tiny")) == set()
        assert not list((growth_home.dagster_home / "history" / "runs").glob("*-*.db"))
