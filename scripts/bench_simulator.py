"""Benchmark of the landing-zone simulator: one simulated day per scale.

Each scale runs in its own subprocess so that its peak resident memory (ru_maxrss from
wait4) is its own. Prints seconds, rows written per second and peak memory.

    .venv/bin/python scripts/bench_simulator.py --scales small,medium [--days 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import datetime as dt, gzip, json, sys, time
from pathlib import Path
from orchestration.simulator import simulate
out, scale, days = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
truth = simulate(out, dt.date(2026, 3, 2), days, scale, seed=1)
secs = time.perf_counter() - t
rows = events = 0
for f in out.rglob("*"):
    if not f.is_file() or f.name.startswith("_"):
        continue
    opener = gzip.open if f.suffix == ".gz" else open
    with opener(f, "rb") as h:
        n = sum(1 for _ in h)
    if f.suffix == ".csv":
        n -= 1
    rows += n
    if f.name.startswith("events"):
        events += n
size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
orders = sum(v["orders"] for v in truth["daily"].values())
print(json.dumps({"seconds": secs, "rows": rows, "events": events, "orders": orders,
                  "bytes": size}))
"""


def run(scale: str, days: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{scale}-") as tmp:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, tmp, scale, str(days)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        out = proc.stdout.read() if proc.stdout else ""
        if status != 0:
            raise SystemExit(f"{scale}: simulator failed with status {status}")
        res = json.loads(out.strip().splitlines()[-1])
        res["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
        return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scales",
        default="small,medium,large",
        help="comma-separated scales to run (default: all three)",
    )
    ap.add_argument("--days", type=int, default=1, help="simulated days per scale")
    args = ap.parse_args()
    print(
        f"{'scale':8} {'days':>4} {'seconds':>8} {'rows':>12} {'rows/s':>10} "
        f"{'events':>11} {'orders':>8} {'MB out':>8} {'peak MB':>8}"
    )
    for scale in args.scales.split(","):
        r = run(scale.strip(), args.days)
        print(
            f"{scale:8} {args.days:>4} {r['seconds']:>8.1f} {r['rows']:>12,} "
            f"{r['rows'] / r['seconds']:>10,.0f} {r['events']:>11,} {r['orders']:>8,} "
            f"{r['bytes'] / 2**20:>8.1f} {r['peak_rss_mb']:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
