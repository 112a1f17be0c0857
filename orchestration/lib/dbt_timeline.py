"""What sets the length of a `dbt build`: its longest chain of nodes, and the floor its threads
set on the sum of its nodes' seconds.

A build can be no shorter than either. When its elapsed time is near the longest chain, a
shorter build needs a shorter chain (a faster node on it, or a node taken off it); when it is
near the threads' floor, it needs less work anywhere. Both read from dbt's own artifacts of
the invocation: `run_results.json` (each node's seconds) and `manifest.json` (its parents).

A `dbt build` runs a node after its parents and after the tests of its parents: dbt makes a
node wait for a test when the node descends from every node the test depends on (dbt's
`Linker.add_test_edges`), so a test with two parents holds back only what descends from both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any


@dataclass(frozen=True)
class BuildTimeline:
    """A build's elapsed seconds beside the two floors on them."""

    elapsed_seconds: float | None  # dbt's own, from its first node to its last
    node_seconds: float  # the sum of every node's seconds
    threads: int | None
    critical_path: list[tuple[str, float]]  # the longest chain, each node with its seconds

    @property
    def critical_seconds(self) -> float:
        return sum(seconds for _, seconds in self.critical_path)

    @property
    def threads_floor_seconds(self) -> float | None:
        """The node seconds spread evenly over the threads: no schedule does better."""
        return self.node_seconds / self.threads if self.threads else None

    def as_json(self) -> dict[str, Any]:
        return {
            "elapsed_seconds": self.elapsed_seconds,
            "node_seconds": self.node_seconds,
            "threads": self.threads,
            "threads_floor_seconds": self.threads_floor_seconds,
            "critical_seconds": self.critical_seconds,
            "critical_path": [{"unique_id": n, "seconds": s} for n, s in self.critical_path],
        }


def _ancestors(parents: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Every node's ancestors over `parents` (a node's direct parents)."""
    found: dict[str, set[str]] = {}
    for node in TopologicalSorter({n: set(p) for n, p in parents.items()}).static_order():
        found[node] = set()
        for parent in parents.get(node, ()):
            found[node] |= {parent} | found.get(parent, set())
    return found


def build_timeline(
    run_results: Mapping[str, Any], manifest: Mapping[str, Any], threads: int | None = None
) -> BuildTimeline:
    """The timeline of the invocation whose artifacts these are, run on `threads` threads
    (dbt's log says how many: its `ConcurrencyLine`; run_results.json does not)."""
    seconds = {r["unique_id"]: float(r["execution_time"]) for r in run_results.get("results", [])}
    nodes = manifest.get("nodes", {})
    parents = {
        node: set(nodes.get(node, {}).get("depends_on", {}).get("nodes", [])) for node in nodes
    }
    ancestors = _ancestors(parents)
    ran = set(seconds)
    # what each node that ran waited for among the nodes that ran: its ancestors (through
    # nodes left out of the build too), and the tests of those
    waits: dict[str, set[str]] = {node: ancestors.get(node, set()) & ran for node in ran}
    tests = [n for n in ran if n.startswith("test.")]
    for test in tests:
        tested = parents.get(test, set())
        if not tested:
            continue
        for node in ran:
            if node.startswith("test.") or node in tested:
                continue
            if tested <= ancestors.get(node, set()):
                waits[node].add(test)
    longest: dict[str, tuple[float, str | None]] = {}
    for node in TopologicalSorter(waits).static_order():
        before = max(
            ((longest[w][0], w) for w in waits[node]), default=(0.0, None), key=lambda p: p[0]
        )
        longest[node] = (before[0] + seconds[node], before[1])
    path: list[tuple[str, float]] = []
    node = max(longest, key=lambda n: longest[n][0], default=None)
    while node is not None:
        path.append((node, seconds[node]))
        node = longest[node][1]
    return BuildTimeline(
        elapsed_seconds=run_results.get("elapsed_time"),
        node_seconds=sum(seconds.values()),
        threads=threads,
        critical_path=path[::-1],
    )
