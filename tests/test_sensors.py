"""The landing-zone sensor launches complete dates once, ingests what arrived of a late date,
and names the late sources; the run-failure sensor records failures."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from tests.landing import write_all_sources


def shanghai_today() -> dt.date:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def evaluate(instance: dg.DagsterInstance) -> dg.SensorResult:
    from orchestration.definitions import defs
    from orchestration.sensors import landing_zone_sensor

    context = dg.build_sensor_context(instance=instance, definitions=defs)
    return landing_zone_sensor(context)


def test_complete_dates_launch_and_late_sources_are_named(growth_home):
    landing = growth_home.landing
    complete = shanghai_today() - dt.timedelta(days=1)
    late = shanghai_today() - dt.timedelta(days=3)
    just_started = shanghai_today()  # the current date is never launched
    for day in (complete, just_started, late):
        write_all_sources(landing, day)
    # the product master of the late date is still uploading
    (landing / "products" / late.isoformat() / "_SUCCESS").unlink()

    with dg.instance_for_test() as instance:
        result = evaluate(instance)
    requests = {r.run_key.split("-")[0] + "@" + r.partition_key: r for r in result.run_requests}
    assert set(requests) == {f"landing@{complete}", f"partial@{late}"}
    assert requests[f"landing@{complete}"].asset_selection is None  # the whole pipeline
    partial = requests[f"partial@{late}"]
    assert dg.AssetKey(["raw", "orders"]) in partial.asset_selection
    assert dg.AssetKey(["raw", "products"]) not in partial.asset_selection
    assert len(partial.asset_selection) == 15
    assert partial.tags["growth/late_sources"] == "products"


def test_dates_already_reported_are_not_launched_again(growth_home):
    day = shanghai_today() - dt.timedelta(days=2)
    write_all_sources(growth_home.landing, day)
    with dg.instance_for_test() as instance:
        assert [r.partition_key for r in evaluate(instance).run_requests] == [day.isoformat()]
        instance.report_runless_asset_event(
            dg.AssetMaterialization("evaluation_report", partition=day.isoformat())
        )
        assert not evaluate(instance).run_requests


def test_nothing_to_do_is_said_plainly(growth_home):
    with dg.instance_for_test() as instance:
        result = evaluate(instance)
    assert not result.run_requests
    assert result.skip_reason.skip_message == "no complete landing drops"


def test_failed_runs_are_recorded_for_the_on_call_engineer(growth_home):
    from orchestration.sensors import run_failure_sensor

    @dg.op
    def load_something() -> None:
        raise RuntimeError("landing zone unreadable")

    @dg.job
    def nightly() -> None:
        load_something()

    with dg.instance_for_test() as instance:
        result = nightly.execute_in_process(instance=instance, raise_on_error=False)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_sensor",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        run_failure_sensor(context)
    records = [json.loads(line) for line in growth_home.run_failure_log.read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["job"] == "nightly"
    assert records[0]["failed_steps"] == ["load_something"]
    assert records[0]["run_id"] == result.run_id
