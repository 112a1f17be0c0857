"""The great-expectations gates: where each expectation runs, GX's verdicts counted in rows,
each date judged on its own, volume bounds from recent days."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.lib.gx_checks import (
    evaluate_suite,
    gx_row_count,
    gx_validate,
    load_suite_document,
    placement_of,
    run_volume_expectation,
    suite_columns,
    volume_bounds,
)


def frame_relation(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("frame", frame)
    return con


@pytest.mark.parametrize(
    ("expectation", "kwargs"),
    [
        ("expect_table_row_count_to_be_between", {"min_value": 1}),
        ("expect_table_row_count_to_be_between", {"min_value": 2, "max_value": 4}),
        ("expect_table_row_count_to_be_between", {"max_value": 3, "strict_max": True}),
        ("expect_table_row_count_to_be_between", {"min_value": 3, "strict_min": True}),
        ("expect_table_row_count_to_equal", {"value": 3}),
    ],
)
def test_a_row_count_judged_on_its_count_agrees_with_gx_on_the_rows(expectation, kwargs):
    for rows in range(6):
        on_rows = gx_validate(expectation, kwargs, pd.DataFrame(index=pd.RangeIndex(rows)))
        on_count = gx_row_count(expectation, kwargs, rows)
        assert on_count.success == on_rows.success, (rows, on_count.result)
        assert on_count.result["observed_value"] == rows


def test_suite_columns_are_only_those_the_suite_names():
    document = load_suite_document("fct_orders")
    assert suite_columns(document) == ["order_id", "gmv", "net_revenue", "channel", "traffic_class"]


@pytest.mark.parametrize(
    ("expectation", "kwargs", "placement"),
    [
        ("expect_table_row_count_to_be_between", {"min_value": 1}, "sql"),
        ("expect_column_values_to_be_unique", {"column": "a"}, "sql"),
        ("expect_compound_columns_to_be_unique", {"column_list": ["a", "b"]}, "sql"),
        ("expect_column_values_to_not_be_null", {"column": "a"}, "profile"),
        ("expect_column_values_to_be_in_set", {"column": "a", "value_set": [1]}, "profile"),
        ("expect_column_values_to_be_between", {"column": "a", "min_value": 0}, "profile"),
        ("expect_column_values_to_match_regex", {"column": "a", "regex": "^x"}, "sql"),
        # a share of rows, or an aggregate, needs the rows themselves
        (
            "expect_column_values_to_be_in_set",
            {"column": "a", "value_set": [1], "mostly": 0.9},
            "pandas",
        ),
        ("expect_column_mean_to_be_between", {"column": "a", "min_value": 0}, "pandas"),
    ],
)
def test_each_expectation_runs_where_it_is_cheapest(expectation, kwargs, placement):
    assert placement_of(expectation, kwargs) == placement


def test_failing_expectations_are_reported_with_row_counts():
    document = load_suite_document("fct_orders")
    con = frame_relation(
        pd.DataFrame(
            {
                "order_id": ["a", "b", "b", "c", "d"],
                "gmv": [10.0, 20.0, 30.0, 5.0, 5.0],
                "net_revenue": [10.0, -5.0, 30.0, -1.0, -1.0],
                "channel": ["tmall", "jd", "jd", "jd", "jd"],
                "traffic_class": ["paid", "natural", "teleport", "natural", "natural"],
            }
        )
    )
    (outcome,) = evaluate_suite(con, document, "frame")
    assert not outcome.success and outcome.rows == 5
    found = {(f["expectation"], f["column"]): f["unexpected_count"] for f in outcome.failures}
    # rows, not the distinct values GX was shown: net_revenue -1.0 is two rows
    assert found == {
        ("expect_column_values_to_be_unique", "order_id"): 2,
        ("expect_column_values_to_be_between", "net_revenue"): 3,
        ("expect_column_values_to_be_in_set", "traffic_class"): 1,
    }
    unexpected = {f["column"]: f["unexpected_values"] for f in outcome.failures}
    assert unexpected["traffic_class"] == ["teleport"]


def test_a_clean_frame_passes():
    document = load_suite_document("fct_orders")
    con = frame_relation(
        pd.DataFrame(
            {
                "order_id": ["a"],
                "gmv": [1.0],
                "net_revenue": [1.0],
                "channel": ["jd"],
                "traffic_class": ["paid"],
            }
        )
    )
    (outcome,) = evaluate_suite(con, document, "frame")
    assert outcome.success and outcome.failures == []


def test_each_date_is_judged_on_its_own():
    document = load_suite_document("fct_orders")
    con = frame_relation(
        pd.DataFrame(
            {
                "date_day": pd.to_datetime(["2026-03-01", "2026-03-02", "2026-03-02"]).date,
                "order_id": ["a", "b", "c"],
                "gmv": [1.0, 1.0, 1.0],
                "net_revenue": [1.0, 1.0, 1.0],
                "channel": ["jd", None, "jd"],
                "traffic_class": ["paid", "paid", "paid"],
            }
        )
    )
    con.execute("create table orders as select * from frame")
    outcomes = evaluate_suite(
        con, document, "orders", "date_day", ["2026-03-01", "2026-03-02", "2026-03-03"]
    )
    verdicts = {o.date: (o.success, o.rows) for o in outcomes}
    assert verdicts == {
        "2026-03-01": (True, 1),
        "2026-03-02": (False, 2),
        # no rows at all: the suite's row count expectation (min 1) fails it
        "2026-03-03": (False, 0),
    }
    failed = {o.date: [(f["expectation"], f["column"]) for f in o.failures] for o in outcomes}
    assert failed["2026-03-02"] == [("expect_column_values_to_not_be_null", "channel")]
    assert failed["2026-03-03"] == [("expect_table_row_count_to_be_between", None)]


def test_a_range_of_clean_dates_costs_one_verdict_per_row_wise_expectation(monkeypatch):
    from orchestration.lib import gx_checks

    calls = []
    validate = gx_checks.gx_validate
    monkeypatch.setattr(
        gx_checks, "gx_validate", lambda *a, **k: calls.append(a[0]) or validate(*a, **k)
    )
    # without its volume rule (a GX row count per date with history, counted apart)
    document = {**load_suite_document("fct_orders"), "meta": {}}
    days = pd.date_range("2026-03-01", periods=5).date
    con = frame_relation(
        pd.DataFrame(
            {
                "date_day": days,
                "order_id": list("abcde"),
                "gmv": 1.0,
                "net_revenue": 1.0,
                "channel": "jd",
                "traffic_class": "paid",
            }
        )
    )
    dates = [str(d) for d in days]
    outcomes = evaluate_suite(con, document, "frame", "date_day", dates)
    assert all(o.success for o in outcomes) and len(outcomes) == 5
    row_counts = sum(
        e["type"].startswith("expect_table_row_count") for e in document["expectations"]
    )
    row_wise = len(document["expectations"]) - row_counts
    # the row counts are each date's own; every other expectation is judged once for all
    assert len(calls) == row_wise + 5 * row_counts
    # a failure on one date is judged again date by date, and names that date only
    con.execute("create table broken as select * from frame")
    con.execute("update broken set channel = null where date_day = date '2026-03-04'")
    outcomes = evaluate_suite(con, document, "broken", "date_day", dates)
    assert [o.date for o in outcomes if not o.success] == ["2026-03-04"]


def test_a_regex_pushed_down_is_still_judged_by_great_expectations():
    document = {
        "name": "regex_probe",
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "h", "regex": "^[0-9a-f]{4}$"},
            }
        ],
    }
    con = frame_relation(pd.DataFrame({"h": ["00af", "00af", "zz", None, "12345"]}))
    (outcome,) = evaluate_suite(con, document, "frame")
    (failure,) = outcome.failures
    assert failure["placement"] == "sql"
    assert failure["unexpected_count"] == 2
    assert sorted(failure["unexpected_values"]) == ["12345", "zz"]


def test_an_aggregate_expectation_runs_on_the_rows():
    document = {
        "name": "mean_probe",
        "expectations": [
            {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x", "max_value": 2}}
        ],
    }
    con = frame_relation(pd.DataFrame({"x": [1.0, 1.0, 1.0, 10.0]}))
    (outcome,) = evaluate_suite(con, document, "frame")
    assert not outcome.success
    assert outcome.failures[0]["placement"] == "pandas"
    assert outcome.failures[0]["observed_value"] == pytest.approx(3.25)


def test_volume_is_judged_against_recent_days_once_there_is_history():
    document = load_suite_document("raw_orders")
    assert volume_bounds(document, [1000, 1000]) is None  # not enough history yet
    low, high = volume_bounds(document, [1000, 1100, 900])
    assert low == 200 and high > 9000
    assert run_volume_expectation(150, (low, high)) is not None
    assert run_volume_expectation(950, (low, high)) is None
