"""The longest chain of a dbt build and its threads' floor, from hand-made artifacts: a node
waits for its ancestors, through nodes the build left out, and for the tests of the nodes it
descends from, but not for a test of two nodes it descends from only one of."""

from __future__ import annotations

import pytest

from orchestration.lib.dbt_timeline import build_timeline


def _artifacts(
    seconds: dict[str, float], parents: dict[str, list[str]], left_out: dict[str, list[str]]
) -> tuple[dict, dict]:
    """run_results.json of the nodes in `seconds`; manifest.json of those and of the nodes
    the build left out (`left_out`, with their parents)."""
    results = {
        "elapsed_time": 99.0,
        "results": [{"unique_id": node, "execution_time": s} for node, s in seconds.items()],
    }
    nodes = {
        node: {"depends_on": {"nodes": parents.get(node, [])}} for node in [*seconds, *left_out]
    }
    for node, its_parents in left_out.items():
        nodes[node]["depends_on"]["nodes"] = its_parents
    return results, {"nodes": nodes}


SECONDS = {
    "seed.p.rules": 1.0,
    "model.p.orders": 2.0,
    "test.p.unique_orders_id": 0.5,
    "model.p.order_marts": 3.0,
    "model.p.sessions": 1.5,
    # a test of two parents: it holds back what descends from both, nothing else
    "test.p.relationships_touches_sessions": 0.25,
    "model.p.touches": 1.0,
    "model.p.journeys": 0.25,
}
PARENTS = {
    "model.p.orders": ["seed.p.rules"],
    "test.p.unique_orders_id": ["model.p.orders"],
    "model.p.order_marts": ["model.p.orders"],
    "model.p.touches": ["model.p.orders"],
    "test.p.relationships_touches_sessions": ["model.p.touches", "model.p.sessions"],
    # through a view the build left out
    "model.p.journeys": ["model.p.touches_view"],
}
LEFT_OUT = {"model.p.touches_view": ["model.p.touches"]}


def test_the_longest_chain_waits_for_the_tests_of_what_it_descends_from():
    timeline = build_timeline(*_artifacts(SECONDS, PARENTS, LEFT_OUT), threads=2)
    assert [node for node, _ in timeline.critical_path] == [
        "seed.p.rules",
        "model.p.orders",
        "test.p.unique_orders_id",
        "model.p.order_marts",
    ]
    assert timeline.critical_seconds == pytest.approx(6.5)
    assert timeline.node_seconds == pytest.approx(sum(SECONDS.values()))
    assert timeline.threads_floor_seconds == pytest.approx(sum(SECONDS.values()) / 2)
    assert timeline.elapsed_seconds == 99.0


def test_a_test_of_two_parents_holds_back_what_descends_from_both():
    # journeys descends from touches (through the view) but not from sessions: a 10 s test of
    # the two ends the chain, journeys is not after it. A node of both waits for it.
    seconds = {**SECONDS, "test.p.relationships_touches_sessions": 10.0}
    timeline = build_timeline(*_artifacts(seconds, PARENTS, LEFT_OUT))
    assert timeline.critical_path[-1] == ("test.p.relationships_touches_sessions", 10.0)
    # rules 1 + orders 2 + their test 0.5 + touches 1 + the test 10
    assert timeline.critical_seconds == pytest.approx(14.5)
    assert timeline.threads_floor_seconds is None

    seconds["model.p.attribution"] = 0.1
    parents = {**PARENTS, "model.p.attribution": ["model.p.touches", "model.p.sessions"]}
    timeline = build_timeline(*_artifacts(seconds, parents, LEFT_OUT))
    chain = [node for node, _ in timeline.critical_path]
    assert chain[-2:] == ["test.p.relationships_touches_sessions", "model.p.attribution"]
    assert timeline.critical_seconds == pytest.approx(14.6)


def test_a_node_waits_for_its_ancestors_through_nodes_left_out_of_the_build():
    seconds = {"model.p.touches": 1.0, "model.p.journeys": 4.0, "model.p.other": 4.5}
    parents = {"model.p.journeys": ["model.p.touches_view"]}
    timeline = build_timeline(*_artifacts(seconds, parents, LEFT_OUT))
    assert timeline.critical_path == [("model.p.touches", 1.0), ("model.p.journeys", 4.0)]
    assert timeline.as_json()["critical_seconds"] == pytest.approx(5.0)


def test_an_empty_build_has_no_chain():
    timeline = build_timeline({"results": []}, {"nodes": {}}, threads=2)
    assert timeline.critical_path == []
    assert timeline.node_seconds == 0
