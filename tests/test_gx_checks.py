"""The great-expectations gate factory: suites from JSON, failures with counts, volume bounds."""

from __future__ import annotations

import pandas as pd

from orchestration.lib.gx_checks import (
    load_suite_document,
    run_suite,
    run_volume_expectation,
    suite_columns,
    volume_bounds,
)


def test_suite_columns_are_only_those_the_suite_names():
    document = load_suite_document("fct_orders")
    assert suite_columns(document) == ["order_id", "gmv", "net_revenue", "channel", "traffic_class"]


def test_failing_expectations_are_reported_with_counts():
    document = load_suite_document("fct_orders")
    frame = pd.DataFrame(
        {
            "order_id": ["a", "b", "b"],
            "gmv": [10.0, 20.0, 30.0],
            "net_revenue": [10.0, -5.0, 30.0],
            "channel": ["tmall", "jd", "jd"],
            "traffic_class": ["paid", "natural", "teleport"],
        }
    )
    success, failures = run_suite(document, frame)
    assert not success
    found = {(f["expectation"], f["column"]): f["unexpected_count"] for f in failures}
    assert found == {
        ("expect_column_values_to_be_unique", "order_id"): 2,
        ("expect_column_values_to_be_between", "net_revenue"): 1,
        ("expect_column_values_to_be_in_set", "traffic_class"): 1,
    }


def test_a_clean_frame_passes():
    document = load_suite_document("fct_orders")
    frame = pd.DataFrame(
        {
            "order_id": ["a"],
            "gmv": [1.0],
            "net_revenue": [1.0],
            "channel": ["jd"],
            "traffic_class": ["paid"],
        }
    )
    assert run_suite(document, frame) == (True, [])


def test_volume_is_judged_against_recent_days_once_there_is_history():
    document = load_suite_document("raw_orders")
    assert volume_bounds(document, [1000, 1000]) is None  # not enough history yet
    low, high = volume_bounds(document, [1000, 1100, 900])
    assert low == 200 and high > 9000
    assert run_volume_expectation(pd.DataFrame({"x": range(150)}), (low, high)) is not None
    assert run_volume_expectation(pd.DataFrame({"x": range(950)}), (low, high)) is None
