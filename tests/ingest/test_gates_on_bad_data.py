"""Every expectation the gates moved out of pandas (pushed down to SQL, or judged on a per-day
profile) still fails on bad data: a day is loaded, one of its rows is broken for exactly that
expectation, and the gate must fail that date, naming the expectation, while the other date of
the run passes.

The loader already refuses most such rows (that is why the gates could move), so the damage is
done after the load, in a copy of the raw rows: what is under test is the gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from assets.ingest.loader import load_day, load_source_specs
from orchestration.lib.gx_checks import (
    PlannedExpectation,
    evaluate_suite,
    load_suite_document,
    plan_suite,
    summarize,
)
from tests.landing import write_all_sources

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
SPECS = load_source_specs()
# the report gate's suite runs on the marts: its rows are made here
MART_SUITE = "fct_orders"


def moved(suite: str) -> list[PlannedExpectation]:
    return [p for p in plan_suite(load_suite_document(suite)) if p.placement != "pandas"]


CASES = [
    pytest.param(suite, planned, id=f"{suite}-{planned.index}-{planned.label}")
    for suite in [*sorted(s.gx_suite for s in SPECS.values()), MART_SUITE]
    for planned in moved(suite)
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Two clean days of every source, loaded by the loader, and two days of the marts' rows."""
    root = tmp_path_factory.mktemp("gates")
    landing, path = root / "landing", root / "w.duckdb"
    for day in (D1, D2):
        write_all_sources(landing, day)
    con = duckdb.connect(str(path))
    try:
        for spec in SPECS.values():
            for day in (D1, D2):
                load_day(con, spec, landing, day, b"k", log_fn=lambda _: None)
        con.execute(
            "create table fct_orders as select * from (values "
            f"('o1', date '{D1}', 10.0, 10.0, 'tmall', 'natural'), "
            f"('o2', date '{D1}', 20.0, 15.0, 'douyin', 'paid'), "
            f"('o3', date '{D2}', 30.0, 30.0, 'jd', 'natural')) "
            "t(order_id, date_day, gmv, net_revenue, channel, traffic_class)"
        )
    finally:
        con.close()
    return path


def relation_of(suite: str) -> tuple[str, str]:
    if suite == MART_SUITE:
        return "fct_orders", "date_day"
    (spec,) = [s for s in SPECS.values() if s.gx_suite == suite]
    return f"raw.{spec.table}", "_business_date"


def first_row(date_column: str) -> str:
    return f"rowid = (select min(rowid) from day where {date_column} = date '{D1}')"


def break_day(con: duckdb.DuckDBPyConnection, planned: PlannedExpectation, date_column: str):
    """Damages D1's rows of the table `day` so that `planned` must fail on D1."""
    kind, kwargs = planned.type, planned.kwargs
    column = planned.columns[0] if planned.columns else None
    types = dict(con.execute("select column_name, column_type from (describe day)").fetchall())
    numeric = column is not None and types[column] not in ("VARCHAR", "DATE", "TIMESTAMP")
    if kind == "expect_table_row_count_to_be_between":
        con.execute(f"delete from day where {date_column} = date '{D1}'")
    elif kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        con.execute(f"insert into day select * from day where {first_row(date_column)}")
    elif kind == "expect_column_values_to_not_be_null":
        con.execute(f'update day set "{column}" = null where {first_row(date_column)}')
    elif kind == "expect_column_values_to_be_in_set":
        outside = max(kwargs["value_set"]) + 7 if numeric else "'__outside_the_set__'"
        con.execute(f'update day set "{column}" = {outside} where {first_row(date_column)}')
    elif kind == "expect_column_values_to_be_between":
        value = (
            kwargs["max_value"] + 1
            if kwargs.get("max_value") is not None
            else kwargs["min_value"] - 1
        )
        con.execute(f'update day set "{column}" = {value} where {first_row(date_column)}')
    elif kind == "expect_column_values_to_match_regex":
        con.execute(f"update day set \"{column}\" = '!!not it!!' where {first_row(date_column)}")
    else:
        raise AssertionError(f"no way to break {kind} here: add one")


SUITES = [*sorted(s.gx_suite for s in SPECS.values()), MART_SUITE]


@pytest.mark.parametrize("suite", SUITES)
def test_the_clean_days_pass_the_whole_suite(warehouse, suite):
    relation, date_column = relation_of(suite)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        outcomes = evaluate_suite(
            con, load_suite_document(suite), relation, date_column, [D1.isoformat(), D2.isoformat()]
        )
    finally:
        con.close()
    assert all(o.success for o in outcomes), summarize(suite, outcomes)


@pytest.mark.parametrize(("suite", "planned"), CASES)
def test_a_moved_expectation_fails_the_broken_date_only(warehouse, suite, planned):
    relation, date_column = relation_of(suite)
    # the suite's one expectation under test, as the gate runs it
    document = {
        "name": suite,
        "expectations": [{"type": planned.type, "kwargs": planned.kwargs}],
    }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"create temp table day as select * from {relation}")
        break_day(con, planned, date_column)
        outcomes = evaluate_suite(
            con, document, "day", date_column, [D1.isoformat(), D2.isoformat()]
        )
    finally:
        con.close()
    verdicts = {o.date: o for o in outcomes}
    assert verdicts[D2.isoformat()].success
    broken = verdicts[D1.isoformat()]
    (failure,) = broken.failures
    assert (failure["expectation"], failure["column"] or "") == (
        planned.type,
        ", ".join(planned.columns),
    )
    assert failure["placement"] == planned.placement
    # the gate's one line names the date held back and the expectation that failed it
    line = summarize(suite, outcomes)
    assert f"held back ({D1.isoformat()})" in line
    assert planned.type in line


def test_every_suite_has_expectations_moved_out_of_pandas():
    # the gates cost seconds because nothing of a large day is copied into pandas
    for suite in [*(s.gx_suite for s in SPECS.values()), MART_SUITE]:
        placements = {p.placement for p in plan_suite(load_suite_document(suite))}
        assert placements <= {"sql", "profile"}, suite
