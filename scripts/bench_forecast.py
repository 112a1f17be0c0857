"""Benchmark: the demand forecast (fit + 28-day forecast + rolling-origin backtest) of many SKUs,
against seasonal naive alone on the same series in the same run.

    .venv/bin/python scripts/bench_forecast.py                       # 5,000 SKUs x 365 days
    .venv/bin/python scripts/bench_forecast.py --skus 500 --jobs 1

The series are synthetic, shaped like the simulator's demand at the large scale
(orchestration/simulator/demand.py: Zipf popularity, the simulator's weekday, payday and
promotion factors, Poisson units): a year of 5,000 SKUs cannot be simulated in a benchmark's
time. Each side runs in a fresh subprocess, so the one-off start-up cost (importing
statsforecast, the first fit of each model) is measured apart from the fit, and so is peak
memory (the main process's and, with --jobs > 1, the largest worker's).
statsforecast 2 ships its models compiled (C++), so there is no numba JIT compile; the
`compile` figure is that one-off start-up, and a second warm-up in the same process shows it
does not recur. Writes the figures as JSON (--out, default $GROWTH_HOME/bench/forecast.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = dt.date(2026, 6, 30)


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished workers: a figure the other work on a
    shared machine does not inflate, as it does wall-clock seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _child(side: str, skus: int, days: int, scale: str, jobs: int) -> None:
    """One side in this fresh process; prints its figures as JSON."""
    started = time.perf_counter()
    from assets.supply import forecast as F

    first_warm_up = F.warm_up()
    compile_seconds = time.perf_counter() - started
    second_warm_up = F.warm_up()
    try:
        import numba  # noqa: F401

        numba_installed = True
    except ImportError:
        numba_installed = False

    from orchestration.simulator.demand import synthetic_demand

    frame = synthetic_demand(skus, days, END, scale=scale, seed=1)
    series = F.build_series(frame, END)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    if side == "forecast":
        result = F.forecast_all(series, n_jobs=jobs)
        timings = result.timings
        accuracy = [a for a in result.accuracy.values() if a["mase"] is not None]
        models: dict[str, int] = {}
        for a in result.accuracy.values():
            models[a["model"]] = models.get(a["model"], 0) + 1
        quality = {
            "models": models,
            "mean_mase": sum(a["mase"] for a in accuracy) / len(accuracy),
            "mean_baseline_mase": sum(a["baseline_mase"] for a in accuracy) / len(accuracy),
            "share_beating_seasonal_naive": sum(a["mase"] < a["baseline_mase"] for a in accuracy)
            / len(accuracy),
        }
    else:
        timings, quality = _seasonal_naive(F, series, jobs), {}
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "side": side,
                "skus": len(series),
                "history_days": days,
                "jobs": jobs,
                "compile_seconds": round(compile_seconds, 3),
                "second_warm_up_seconds": round(second_warm_up, 3),
                "first_warm_up_seconds": round(first_warm_up, 3),
                "numba_installed": numba_installed,
                "fit_seconds": round(seconds, 3),
                "fit_cpu_seconds": round(cpu, 3),
                "stages_seconds": {k: round(v, 3) for k, v in timings.items()},
                "skus_per_second": round(len(series) / seconds, 1),
                "peak_mb": round(_peak_rss_mb(), 1),
                "peak_worker_mb": round(children, 1),
                **quality,
            }
        )
    )


def _seasonal_naive(F, series, jobs: int) -> dict[str, float]:
    """The baseline: seasonal naive's forecast and the same backtest windows, in
    statsforecast, over the SKUs the forecaster fits (the short ones are the mean either way)."""
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    fitted = [s for s in series if s.model != F.MEAN]
    timings: dict[str, float] = {}
    groups: dict[int, list] = {}
    for s in fitted:
        windows = min(F.BACKTEST_WINDOWS, (len(s.y) - 4 * F.SEASON) // F.HORIZON)
        groups.setdefault(windows, []).append(s)
    for windows, members in sorted(groups.items()):
        for start in range(0, len(members), F.BATCH_SKUS):
            frame = F._long_frame(members[start : start + F.BATCH_SKUS])
            started = time.perf_counter()
            sf = StatsForecast(models=[SeasonalNaive(F.SEASON)], freq="D", n_jobs=jobs)
            sf.forecast(h=F.HORIZON, df=frame)
            sf.cross_validation(h=F.HORIZON, df=frame, n_windows=windows, step_size=F.HORIZON)
            timings["fit_forecast_backtest"] = (
                timings.get("fit_forecast_backtest", 0.0) + time.perf_counter() - started
            )
    return timings


def _measure(side: str, args: argparse.Namespace) -> dict:
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            side,
            str(args.skus),
            str(args.days),
            args.scale,
            str(args.jobs),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        side, skus, days, scale, jobs = sys.argv[2:7]
        _child(side, int(skus), int(days), scale, int(jobs))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scale", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, help="default: $GROWTH_HOME/bench/forecast.json")
    args = parser.parse_args()

    from orchestration.settings import load_settings

    out = args.out or load_settings().home / "bench" / "forecast.json"
    print(
        f"forecast of {args.skus:,} synthetic SKUs x {args.days} days ({args.scale}-scale "
        f"demand), {args.jobs} worker process(es); baseline: seasonal naive alone"
    )
    baseline = _measure("seasonal_naive", args)
    forecast = _measure("forecast", args)
    ratio = forecast["fit_seconds"] / baseline["fit_seconds"]
    figures = {
        "measured_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine_cores": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "forecast": forecast,
        "baseline_seasonal_naive": baseline,
        "forecast_over_baseline": round(ratio, 1),
    }
    print(f"\n{'':28} {'forecast':>12} {'seasonal naive':>15}")
    for label, key in (
        ("one-off start-up (compile) s", "compile_seconds"),
        ("  warm-up again s", "second_warm_up_seconds"),
        ("fit + forecast + backtest s", "fit_seconds"),
        ("  of it CPU s (all processes)", "fit_cpu_seconds"),
        ("SKUs per second", "skus_per_second"),
        ("peak memory MB (main)", "peak_mb"),
        ("peak memory MB (a worker)", "peak_worker_mb"),
    ):
        print(f"{label:28} {forecast[key]:>12} {baseline[key]:>15}")
    print(f"stages: {forecast['stages_seconds']}")
    print(
        f"models: {forecast['models']}; mean MASE {forecast['mean_mase']:.3f} against "
        f"{forecast['mean_baseline_mase']:.3f} for seasonal naive; beats it on "
        f"{forecast['share_beating_seasonal_naive']:.1%} of SKUs; {ratio:.1f}x its time"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
