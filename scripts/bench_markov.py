"""Benchmark: the data-driven attribution's Python step (assets/traffic/definitions.py:
attribution_table, the removal effects of every window) on transition counts of large windows.

    .venv/bin/python scripts/bench_markov.py                      # a year of large days
    .venv/bin/python scripts/bench_markov.py --warehouse W.duckdb # the counts a run built

The step reads mart_journey_transitions (counted in SQL) and solves one linear system of
(channels + 1) unknowns per window and channel removed: its cost follows the windows and the
channels, not the journeys. Without `--warehouse` the counts are synthetic, shaped like the
large scale (every channel of the grouping seed, every transition between them, a 30-day
window of about a million journeys a day, so counts in the tens of millions), for one 30-day
window alone and for a year of daily trailing windows and months.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assets.traffic.definitions import attribution_table  # noqa: E402
from assets.traffic.markov import CONVERSION, NULL, START  # noqa: E402

CHANNELS = [
    "baidu",
    "douyin",
    "jd",
    "other",
    "own_site",
    "pinduoduo",
    "tmall",
    "wechat",
    "xiaohongshu",
]


def synthetic_window(
    rng: np.random.Generator, window_type: str, start: dt.date, end: dt.date, journeys: int
) -> list[tuple]:
    """Every transition of the chain of CHANNELS with counts of a window of `journeys`."""
    rows = []
    firsts = rng.multinomial(journeys, rng.dirichlet(np.ones(len(CHANNELS))))
    for channel, n in zip(CHANNELS, firsts, strict=True):
        rows.append((window_type, start, end, START, channel, int(n), 0.0))
    for channel in CHANNELS:
        # each touch: 70-85% end the journey in null, 1-4% in an order, the rest move on
        out = int(journeys / len(CHANNELS) * 1.3)
        p_null, p_conv = rng.uniform(0.70, 0.85), rng.uniform(0.01, 0.04)
        moves = rng.dirichlet(np.ones(len(CHANNELS))) * (1 - p_null - p_conv)
        counts = rng.multinomial(out, [*moves, p_null, p_conv])
        for target, n in zip([*CHANNELS, NULL, CONVERSION], counts, strict=True):
            gmv = float(n) * 150.0 if target == CONVERSION else 0.0
            rows.append((window_type, start, end, channel, target, int(n), gmv))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="read mart_journey_transitions from it")
    parser.add_argument("--journeys-per-day", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.warehouse:
        import duckdb

        con = duckdb.connect(str(args.warehouse), read_only=True)
        cases = {
            "the warehouse's windows": con.execute(
                "select window_type, window_start, window_end, from_state, to_state, "
                "transitions, cast(gmv as double) from marts.mart_journey_transitions "
                "order by all"
            ).fetchall()
        }
        con.close()
    else:
        rng = np.random.default_rng(14)
        last = dt.date(2026, 12, 31)
        window = 30 * args.journeys_per_day
        one = synthetic_window(rng, "trailing_30_days", last - dt.timedelta(days=29), last, window)
        year = []
        for offset in range(365):
            end = last - dt.timedelta(days=offset)
            year += synthetic_window(
                rng, "trailing_30_days", end - dt.timedelta(days=29), end, window
            )
        for month in range(1, 13):
            start = dt.date(2026, month, 1)
            year += synthetic_window(rng, "month", start, start + dt.timedelta(days=27), window)
        cases = {"one 30-day large window": one, "a year of windows (365 + 12)": year}
    for name, transitions in cases.items():
        walls, solves = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            table, solve = attribution_table(transitions)
            walls.append(time.perf_counter() - started)
            solves.append(solve)
        journeys = sum(r[5] for r in transitions if r[3] == START)
        print(
            f"{name}: {len(transitions)} transition counts, {journeys:,} journeys, "
            f"{table.num_rows} rows: removal effects {statistics.median(solves):.4f}s, "
            f"whole step {statistics.median(walls):.4f}s (median of {args.rounds})"
        )


if __name__ == "__main__":
    main()
