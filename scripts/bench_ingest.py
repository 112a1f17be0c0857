"""Benchmark: loading one simulated day against DuckDB merely reading the same files.

    .venv/bin/python scripts/bench_ingest.py --scale large        # the issue's target day
    .venv/bin/python scripts/bench_ingest.py --scale small --sources orders events

Both sides run in fresh subprocesses in the same invocation (so peak memory is each side's own
and the machine's noise hits both); the figure that matters is the ratio, not the seconds.
Each source is measured in `--rounds` alternating read/load pairs and the medians are kept: a
single pair moves by several percent on a busy 2-core machine.
Targets (ingestion issue): load <= 1.5x the plain read, peak memory < 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). ru_maxrss would include the parent's
    peak, which Linux carries across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, landing: str, date: str, source: str, warehouse: str) -> None:
    """Runs one side in this (fresh) process and prints JSON: seconds, rows, peak RSS."""
    import duckdb

    from assets.ingest.loader import day_folder, load_day, load_source_specs

    spec = load_source_specs()[source]
    day = dt.date.fromisoformat(date)
    folder = day_folder(Path(landing), source, day)
    started = time.perf_counter()
    rows = 0
    if mode == "read":
        from assets.ingest.loader.files import declared_name_pattern

        con = duckdb.connect()
        for file_spec in spec.files:
            name = declared_name_pattern(file_spec.pattern)
            for path in sorted(p for p in folder.iterdir() if name.fullmatch(p.name)):
                if file_spec.encoding not in ("utf-8", "utf8"):
                    text = path.read_bytes().decode(file_spec.encoding)
                    tmp = Path(warehouse).with_suffix(".utf8.csv")
                    tmp.write_text(text, encoding="utf-8")
                    path = tmp
                reader = "read_json" if file_spec.format == "jsonl" else "read_csv"
                con.execute(f"create or replace temp table t as select * from {reader}('{path}')")
                rows += con.execute("select count(*) from t").fetchall()[0][0]
        con.close()
    else:
        from orchestration.settings import DUCKDB_MEMORY_LIMIT

        con = duckdb.connect(warehouse)
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")  # as the pipeline does
        result = load_day(con, spec, Path(landing), day, b"bench-key", log_fn=lambda _: None)
        rows = result.rows_read
        con.close()
    seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_mb}))


def _measure(mode: str, landing: Path, date: str, source: str, warehouse: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(landing), date, source, str(warehouse)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{mode} {source} failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _remove_warehouse(warehouse: Path) -> None:
    import shutil

    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(warehouse.with_name(warehouse.name + ".raw"), ignore_errors=True)


def _median(runs: list[dict]) -> dict:
    """The run of median seconds, with the highest peak memory of all runs."""
    ranked = sorted(runs, key=lambda r: r["seconds"])
    return {**ranked[len(ranked) // 2], "peak_mb": max(r["peak_mb"] for r in runs)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:7])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--date", default="2026-03-02")
    parser.add_argument("--sources", nargs="*", help="default: every declared source")
    parser.add_argument("--workdir", type=Path, help="keep the landing zone here between runs")
    parser.add_argument("--rounds", type=int, default=3, help="read/load pairs per source")
    args = parser.parse_args()

    from assets.ingest.loader import load_source_specs
    from orchestration.simulator import simulate

    sources = args.sources or sorted(load_source_specs())
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    landing = workdir / f"landing-{args.scale}"
    day = dt.date.fromisoformat(args.date)
    if not (landing / "_truth.json").exists():
        # Two days so the measured day carries late records and re-sent changes from the first.
        print(f"simulating {args.scale} {day - dt.timedelta(days=1)}..{day} into {landing}")
        started = time.perf_counter()
        simulate(landing, day - dt.timedelta(days=1), 2, scale=args.scale, seed=1)
        print(f"  simulated in {time.perf_counter() - started:.1f}s")

    print(
        f"\n{'source':18} {'rows':>12} {'read s':>8} {'load s':>8} {'ratio':>6} "
        f"{'read MB':>8} {'load MB':>8}"
    )
    totals = {"read": 0.0, "load": 0.0}
    peaks = {"read": 0.0, "load": 0.0}
    for source in sources:
        warehouse = workdir / f"bench-{source}.duckdb"
        reads, loads = [], []
        for _ in range(args.rounds):
            _remove_warehouse(warehouse)
            reads.append(_measure("read", landing, args.date, source, warehouse))
            loads.append(_measure("load", landing, args.date, source, warehouse))
        read, load = _median(reads), _median(loads)
        totals["read"] += read["seconds"]
        totals["load"] += load["seconds"]
        peaks["read"] = max(peaks["read"], read["peak_mb"])
        peaks["load"] = max(peaks["load"], load["peak_mb"])
        ratio = load["seconds"] / read["seconds"] if read["seconds"] else float("nan")
        print(
            f"{source:18} {load['rows']:>12,} {read['seconds']:>8.2f} {load['seconds']:>8.2f} "
            f"{ratio:>6.2f} {read['peak_mb']:>8.0f} {load['peak_mb']:>8.0f}"
        )
    ratio = totals["load"] / totals["read"] if totals["read"] else float("nan")
    print(
        f"{'total':18} {'':>12} {totals['read']:>8.2f} {totals['load']:>8.2f} {ratio:>6.2f} "
        f"{peaks['read']:>8.0f} {peaks['load']:>8.0f}"
    )
    print(
        f"\nload / plain read: {ratio:.2f}x (target <= 1.5x); "
        f"peak load memory {peaks['load']:.0f} MB (target < 2048 MB); "
        f"medians of {args.rounds} rounds"
    )


if __name__ == "__main__":
    main()
