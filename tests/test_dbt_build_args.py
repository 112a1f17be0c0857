"""The arguments of the run's dbt build: seeds left out as recorded, and a build of many dates
on DuckDB one model at a time (two at once shared the memory limit, and a year's backfill ran
out of it in int_sessions)."""

from __future__ import annotations

import pytest

from assets.dbt.definitions import ONE_MODEL_AT_A_TIME_ABOVE_DATES, build_args

MANY = ONE_MODEL_AT_A_TIME_ABOVE_DATES + 1


def test_a_night_builds_with_the_profiles_threads_and_without_unit_tests():
    assert build_args([], 1, "duckdb") == ["build", "--exclude-resource-type", "unit_test"]
    assert "--threads" not in build_args([], ONE_MODEL_AT_A_TIME_ABOVE_DATES, "duckdb")


@pytest.mark.parametrize("dates", [MANY, 364])
def test_a_backfill_on_duckdb_builds_one_model_at_a_time(dates):
    args = build_args([], dates, "duckdb")
    assert args[args.index("--threads") + 1] == "1"


def test_spark_keeps_its_threads_whatever_the_range():
    assert "--threads" not in build_args([], 364, "spark")


def test_unchanged_seeds_are_left_out_by_name():
    args = build_args({"koc_tiers", "crm_thresholds"}, 1, "duckdb")
    assert args[args.index("--exclude") + 1] == "crm_thresholds koc_tiers"
