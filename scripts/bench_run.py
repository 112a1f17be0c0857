"""Benchmark: one simulated day through the whole Dagster run, against DuckDB's bare read.

    .venv/bin/python scripts/bench_run.py --scale large                 # the issue's target day
    .venv/bin/python scripts/bench_run.py --scale small --workdir /tmp/bench-run
    .venv/bin/python scripts/bench_run.py --history 30,365              # day N after N-1 days
    .venv/bin/python scripts/bench_run.py --history --days 3,6          # the same, quickly
    .venv/bin/python scripts/bench_run.py --history --reuse-history     # time again, same history
    .venv/bin/python scripts/bench_run.py --history --reuse-history --repeat 3  # medians
    .venv/bin/python scripts/bench_run.py --history --same-world --reuse-history  # one brand

Mode `day` simulates `--days` business dates (default one), runs all but the last as one
untimed backfill, then times the last one alone through `growth`'s own `execute`
(daily_pipeline). Stage seconds come from the run's Dagster event log: ingest (raw assets),
gates (their GX checks), dbt (with each model's and test's seconds from dbt's run_results.json),
the report gate, the report, publish, any other Python asset, and Dagster's own overhead (the
run's wall seconds minus its steps'). DuckDB's bare read of the timed day's files is measured in
the same invocation (bench_ingest.py's reader). Mode `history` does the same, at small scale
unless `--scale` says otherwise, for each N, and compares the last day's wall seconds.

The simulated brand starts with its landing zone and grows, so without `--same-world` day 365's
date holds about twice day 30's rows (its own volume, not its history, makes part of the
ratio). `--same-world` times the same date of one brand (the largest N's) for every N, the
warehouse started N-1 days before it: the ratio is then the history's alone.

`--repeat K` runs the whole sequence K times, interleaved (30, 365, 30, 365, ...), so a noisy
spell of the machine falls on both days, and compares the medians of each day's wall seconds.
History mode first runs the smallest N's night once, untimed (`--no-warm-up` skips it): the
first run of an invocation pays for cold caches, and it would always be the same day's.

A history restored by `--reuse-history` first gets an untimed `dbt parse` of this checkout's
project into its home, as the first night after a deployment would: the timed night's dbt then
parses only what a night changes, whichever checkout backfilled the history. A restored
history gets its last week's forecasts again, untimed, from no kept ETS forms, as this
checkout's backfill would have made them: a backfill forecasts its last seven dates, the first
choosing every SKU's form and each later one those of the SKUs whose day of choosing again it is
(`assets/supply/forecast.py`), so the timed night chooses its own seventh, whoever backfilled
the history (a checkout that kept forms a week for every SKU at once left the timed night
choosing them all). Its raw lake's closed months are compacted, untimed, as the first
night after deploying the compaction would (`assets/ingest/loader/compaction.py`); the timed
night then compacts only what it closes itself.

A single day's fresh home gets the same untimed `dbt parse` first: a nightly run finds the
partial-parse state of the night before, and only the first night after a deployment parses the
whole project. Both homes then get their seeds loaded and tested, untimed: a nightly run finds
them as the night before left them and leaves them out of its build until their files change
(`orchestration/lib/seed_loads.py`); only a first night, or one after a seed's edit, loads them.

Each run's CPU seconds (user and system, of its process and every process it waited for: dbt,
the forecast's workers) are measured beside its wall seconds, and history mode compares them
too: a slow spell of the host stretches the wall time of a run by the time its cores were
given away, its CPU time far less.

Before each timed night, every page the restore or the backfill wrote is flushed to disk
(untimed): a restored year is 4 GB of files, a month 0.5 GB, and the kernel flushing the
difference during the night was billed to day 365's first steps.

Every run starts from a fresh GROWTH_HOME under `--workdir`; the landing zone is kept there
between invocations. Each run executes in a fresh subprocess, so its peak memory is its own, not
the simulator's or the bare read's. Targets (issue 9): a large day <= 3x the bare read, peak
<= 3 GB; day 365 <= 1.25x day 30 at small scale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PII_KEY = "bench-run-key"
SNAPSHOT_MARKER = "backfilled.json"
DBT_STEP = "growth_dbt_models"
REPORT_GATE_STEP = "fct_orders_gx_fct_orders"
# Stage order of the table; "other" collects Python assets this script does not know by name.
STAGES = ("ingest", "gates", "dbt", "report gate", "report", "publish", "other", "dagster")
# Variables that would point a run at someone else's files; the fresh home decides them all.
_PATH_VARS = ("GROWTH_WAREHOUSE", "GROWTH_SERVING", "GROWTH_REPORTS", "GROWTH_SPARK_DIR")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _bench_ingest() -> ModuleType:
    """scripts/ is no package: bench_ingest.py is loaded by path, so its reader is the one
    measured here and the two benchmarks cannot drift apart."""
    spec = importlib.util.spec_from_file_location(
        "bench_ingest", ROOT / "scripts" / "bench_ingest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _point_at(home: Path, landing: Path) -> None:
    """Environment of a fresh installation in `home`, reading `landing`. Set before settings
    are loaded (and inherited by the run's subprocess), as the end-to-end test does."""
    for var in _PATH_VARS:
        os.environ.pop(var, None)
    os.environ["GROWTH_HOME"] = str(home)
    os.environ["GROWTH_LANDING"] = str(landing)
    os.environ["GROWTH_PII_KEY"] = PII_KEY
    os.environ["DAGSTER_HOME"] = str(home / "dagster")


def _landing(workdir: Path, scale: str, first: dt.date, days: int, seed: int) -> Path:
    from orchestration.simulator import simulate

    landing = workdir / f"landing-{scale}-{first}-{days}d-seed{seed}"
    if not (landing / "_truth.json").exists():
        _say(f"simulating {scale} {first} + {days} day(s) into {landing}")
        started = time.perf_counter()
        shutil.rmtree(landing, ignore_errors=True)  # a half-written zone from an interrupted run
        simulate(landing, first, days, scale=scale, seed=seed)
        _say(f"  simulated in {time.perf_counter() - started:.1f}s")
    return landing


def _child_run(start: str, end: str, result_path: str) -> None:
    """In a fresh process: one `execute` of daily_pipeline; writes its outcome as JSON."""
    from orchestration.cli import execute
    from orchestration.settings import load_settings

    settings = load_settings()
    started = time.perf_counter()
    ok, reasons = execute(
        "daily_pipeline", dt.date.fromisoformat(start), dt.date.fromisoformat(end), settings
    )
    wall = time.perf_counter() - started
    # The forecast's workers are children of multiprocessing's fork server, which nobody waits
    # for at exit: stopped and waited for here (its own stop, which Python's tests use), the
    # workers' CPU time reaches this process's children's, and so the bench's.
    from multiprocessing import forkserver

    forkserver._forkserver._stop()
    # VmHWM, not ru_maxrss: Linux carries the parent's peak (the simulator's) across exec.
    peak_self_mb = _bench_ingest()._peak_rss_mb()
    # dbt's processes: the same carry-over makes this at least this process's peak at the time
    # dbt started, so it says "no child went above", not what dbt alone used.
    peak_children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    outcome = {
        "ok": ok,
        "reasons": reasons,
        "wall_seconds": wall,
        "peak_self_mb": peak_self_mb,
        "peak_children_mb": peak_children_mb,
    }
    Path(result_path).write_text(json.dumps(outcome))


def _child_parse() -> None:
    """In a fresh process, as the run's dbt step would: `dbt parse` into the home's target
    folder, so a restored history's partial-parse state matches this checkout's project."""
    from orchestration.lib.resources import build_resources
    from orchestration.settings import load_settings

    dbt = build_resources()["dbt"]
    dbt.cli(["parse"], target_path=load_settings().dbt_run_target).wait()


def _child_seeds() -> None:
    """In a fresh process: the seeds loaded, tested and recorded as the night before the timed
    one left them (orchestration/lib/seed_loads.py); a nightly run finds them so and leaves
    them out of its dbt build until their files change."""
    import duckdb

    from orchestration.lib.dbt_project import growth_dbt_project
    from orchestration.lib.resources import build_resources
    from orchestration.lib.seed_loads import record_seed_loads
    from orchestration.settings import load_settings

    settings = load_settings()
    invocation = (
        build_resources()["dbt"]
        .cli(
            ["build", "--select", "resource_type:seed", "--exclude-resource-type", "unit_test"],
            target_path=settings.dbt_run_target,
        )
        .wait()
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        record_seed_loads(
            con,
            invocation.get_artifact("manifest.json")["nodes"],
            invocation.get_artifact("run_results.json")["results"],
            Path(growth_dbt_project.project_dir),
        )


def _child_forecast_forms(date: str) -> None:
    """In a fresh process: the demand forecasts of the week up to `date` again, from no kept ETS
    forms, as this checkout's backfill forecasts its last dates (max_forecast_dates); it
    rewrites those dates' forecast marts."""
    import dagster as dg
    import duckdb

    from assets.supply.definitions import demand_forecast, keeps_forms, max_forecast_dates
    from orchestration.lib.resources import build_resources
    from orchestration.settings import load_settings

    last = dt.date.fromisoformat(date)
    first = last - dt.timedelta(days=max_forecast_dates() - 1)
    with duckdb.connect(str(load_settings().warehouse)) as con:
        if keeps_forms(con):
            con.execute("drop table forecast.ets_forms")
    _say(f"  the forecasts of {first}..{last} again, from no kept ETS forms (untimed)")
    result = dg.materialize(
        [demand_forecast],
        resources=build_resources(),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        # the run's own events are not the bench's output: warnings and errors only
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    if not result.success:
        raise SystemExit(f"the forecasts of {first}..{last} failed")
    (forecast,) = [
        m
        for m in result.asset_materializations_for_node("demand_forecast")
        if m.asset_key.to_user_string() == "mart_demand_forecast"
    ][-1:]
    _say(f"  {forecast.metadata['ets_forms_chosen'].value} ETS forms chosen over those dates")


def _child_compact() -> None:
    """In a fresh process: compacts the closed months of every source of the restored lake, as
    the first night after deploying the compaction would (a history backfilled by this
    checkout has them already: each load's asset compacts what it closed)."""
    import duckdb

    from assets.ingest.loader import load_source_specs
    from assets.ingest.loader.compaction import compact_closed_months
    from orchestration.settings import load_settings

    started = time.perf_counter()
    with duckdb.connect(str(load_settings().warehouse)) as con:
        months = sum(len(compact_closed_months(con, s)) for s in load_source_specs().values())
    if months:
        _say(
            f"  compacted {months} closed source-months in {time.perf_counter() - started:.1f}s"
            " (untimed)"
        )


# The concise Dagster logger's lines: "05:18:14 info    raw__orders: message".
_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (\w+)\s+(\S+): ")


def _children_cpu_seconds() -> float:
    """User and system seconds of this process's finished, waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(start: dt.date, end: dt.date, log: Path) -> dict[str, Any]:
    """One Dagster run in a subprocess of this script. Its whole console output goes to `log`;
    stderr gets the first line of each step and any error, so a long run shows where it is
    without a backfill's thousands of lines."""
    result_path = log.with_suffix(".json")
    result_path.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--child-run", start.isoformat(), end.isoformat()]
    cpu_before = _children_cpu_seconds()
    with log.open("w") as handle:
        child = subprocess.Popen(
            [*command, str(result_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert child.stdout is not None
        step = None
        for line in child.stdout:
            handle.write(line)
            match = _LOG_LINE.match(line)
            if match and (match[2] != step or match[1] == "error"):
                step = match[2]
                _say(f"  | {line.rstrip()[:150]}")
            elif line.startswith("Dagster run "):
                _say(f"  | {line.rstrip()}")
        returncode = child.wait()
    if returncode != 0 or not result_path.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"the run of {start}..{end} crashed (log {log}):\n{tail}")
    result = json.loads(result_path.read_text())
    # The run's own CPU time (its process, dbt's and the forecast's workers) moves less with a
    # neighbour's load than its wall time does.
    result["cpu_seconds"] = _children_cpu_seconds() - cpu_before
    if not result["ok"]:
        raise SystemExit(
            f"the run of {start}..{end} failed: {'; '.join(result['reasons'])} (log {log})"
        )
    return result


def _stage_of(step_key: str) -> str:
    if step_key == DBT_STEP:
        return "dbt"
    if step_key == REPORT_GATE_STEP:
        return "report gate"
    if step_key == "evaluation_report":
        return "report"
    if step_key == "serving_copy":
        return "publish"
    if step_key.startswith("raw__"):
        return "gates" if "_gx_" in step_key else "ingest"
    return "other"


def _run_steps(
    start: dt.date, end: dt.date
) -> tuple[str, dict[str, tuple[float, float]], float | None]:
    """The latest run of the home's Dagster instance: its id, each step's start and end
    (epoch seconds) and the run's own start-to-end seconds."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            raise SystemExit(f"no run recorded in {os.environ['DAGSTER_HOME']}")
        run = runs[0]
        if run.tags.get("dagster/asset_partition_range_end") != end.isoformat():
            raise SystemExit(f"the latest run {run.run_id} is not the run of {start}..{end}")
        steps = {
            s.step_key: (s.start_time, s.end_time)
            for s in instance.get_run_step_stats(run.run_id)
            if s.start_time is not None and s.end_time is not None
        }
        stats = instance.get_run_stats(run.run_id)
        run_seconds = (
            stats.end_time - stats.start_time if stats.start_time and stats.end_time else None
        )
    return run.run_id, steps, run_seconds


def _growth_by_key(
    results: list[dict[str, Any]],
    seconds_of: Any,
    smallest: int,
    largest: int,
) -> dict[str, float]:
    """Each key's median seconds on day `largest` less those on day `smallest` (0 where a run
    has no such key), the largest growth first."""
    keys = {key for r in results for key in seconds_of(r)}

    def median(days: int, key: str) -> float:
        return statistics.median(
            seconds_of(r).get(key, 0.0) for r in results if r["history_days"] == days - 1
        )

    growth = {key: median(largest, key) - median(smallest, key) for key in keys}
    return dict(sorted(growth.items(), key=lambda kv: kv[1], reverse=True))


def _dbt_artifact(name: str) -> dict[str, Any] | None:
    """One of the run's dbt artifacts (run_results.json, manifest.json), or None. The dbt asset
    keeps its last invocation's artifacts in the home's dbt target folder
    (Settings.dbt_run_target): this run's, as nothing runs dbt in between."""
    from orchestration.settings import load_settings

    try:
        return json.loads((load_settings().dbt_run_target / name).read_text())
    except (OSError, ValueError):
        return None


def _dbt_nodes(results: dict[str, Any]) -> tuple[list[dict[str, Any]], float | None]:
    """Each node's seconds from the run's dbt run_results.json, slowest first, and dbt's own
    elapsed seconds."""
    nodes = [
        {
            "unique_id": r["unique_id"],
            "type": r["unique_id"].split(".", 1)[0],
            "status": r["status"],
            "seconds": r["execution_time"],
        }
        for r in results.get("results", [])
    ]
    nodes.sort(key=lambda n: n["seconds"], reverse=True)
    return nodes, results.get("elapsed_time")


def _dbt_phases(
    step_window: tuple[float, float] | None, results: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Where the dbt step's seconds go, from the timestamps of its invocation's lines in the
    home's dbt.log: before dbt reports its version (dagster-dbt's preparation, the process
    start, dbt's imports), parsing (whole or partial, and why a partial parse was refused),
    running the nodes, and after dbt's last line (Dagster storing the events still queued; on
    Spark, counting the marts' rows)."""
    from orchestration.settings import load_settings

    target = load_settings().dbt_run_target
    # dbt rotates its log at 10 MB (a backfill's fills one): dbt.log.1 is older than dbt.log
    logs = sorted(
        target.glob("dbt.log.*"),
        key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0,
        reverse=True,
    ) + [target / "dbt.log"]
    if step_window is None or results is None:
        return None
    invocation = results["metadata"]["invocation_id"]
    marks: dict[str, float] = {}
    refused = None
    threads = None
    lines = (
        line
        for log in logs
        if log.exists()
        for line in log.read_text(errors="replace").splitlines()
    )
    for line in lines:
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError):
            continue
        if info.get("invocation_id") != invocation:
            continue
        at = dt.datetime.fromisoformat(info["ts"].replace("Z", "+00:00")).timestamp()
        marks.setdefault(info["name"], at)
        marks["last"] = at
        if info["name"] == "ConcurrencyLine":
            threads = json.loads(line)["data"].get("num_threads")
        if info["name"] == "UnableToPartialParse" and refused is None:
            refused = json.loads(line)["data"].get("reason")
    if "MainReportVersion" not in marks or "FoundStats" not in marks:
        return None
    start, end = step_window
    return {
        "before_dbt": marks["MainReportVersion"] - start,
        "parse": marks["FoundStats"] - marks["MainReportVersion"],
        "partial_parse_refused": refused,
        "build": marks["last"] - marks["FoundStats"],
        "after_dbt": end - marks["last"],
        "threads": threads,
    }


def _dbt_timeline(
    results: dict[str, Any] | None, phases: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The dbt build's longest chain of nodes and its threads' floor (dbt_timeline.py), from
    the invocation's run_results.json and manifest.json."""
    from orchestration.lib.dbt_timeline import build_timeline

    manifest = _dbt_artifact("manifest.json")
    if results is None or manifest is None:
        return None
    threads = (phases or {}).get("threads")
    return build_timeline(results, manifest, threads).as_json()


def _short_node(unique_id: str) -> str:
    """A node's name, and a test's without its hash: `test.growth.unique_x.4db1` -> unique_x."""
    parts = unique_id.split(".")
    return parts[2] if parts[0] == "test" else parts[-1]


def _bare_read(landing: Path, day: dt.date, scratch: Path) -> dict[str, Any]:
    """DuckDB merely reading the day's files, source by source, with bench_ingest.py's reader
    (each source in a fresh subprocess, as there)."""
    from assets.ingest.loader import day_folder, load_source_specs

    bench_ingest = _bench_ingest()
    scratch.mkdir(parents=True, exist_ok=True)
    per_source: dict[str, float] = {}
    rows = 0
    peak_mb = 0.0
    for source in sorted(load_source_specs()):
        if not day_folder(landing, source, day).is_dir():
            continue  # a source the simulator did not write that day costs the run nothing
        _say(f"  bare read {source}")
        measured = bench_ingest._measure(
            "read", landing, day.isoformat(), source, scratch / f"read-{source}.duckdb"
        )
        per_source[source] = measured["seconds"]
        rows += measured["rows"]
        peak_mb = max(peak_mb, measured["peak_mb"])
    return {
        "seconds": sum(per_source.values()),
        "rows": rows,
        "peak_mb": peak_mb,
        "per_source": per_source,
    }


def _commit() -> str:
    """The checkout's commit, with a + when it has uncommitted changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head or 'unknown'}{'+' if dirty else ''}"


def _dirty_mb() -> float | None:
    """The written pages the kernel has yet to flush (/proc/meminfo), or None where it does not
    say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("Dirty:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _flush_written_pages() -> None:
    """Writes every dirty page to disk (sync), saying how much there was and how long it took."""
    dirty = _dirty_mb()
    started = time.perf_counter()
    os.sync()
    held = f"{dirty:.0f} MB of " if dirty is not None else ""
    _say(f"  flushed {held}written pages to disk in {time.perf_counter() - started:.2f}s (untimed)")


def _parse_untimed(what: str) -> None:
    """`dbt parse` of this checkout's project into the home (`_child_parse`), then its seeds
    loaded and tested (`_child_seeds`), untimed."""
    _say(f"  dbt parse of this checkout's project into {what} (untimed)")
    subprocess.run([sys.executable, __file__, "--child-parse"], check=True, capture_output=True)
    _say(f"  this checkout's seeds loaded and tested into {what} (untimed)")
    subprocess.run([sys.executable, __file__, "--child-seeds"], check=True, capture_output=True)


def measure_day(
    workdir: Path,
    scale: str,
    day: dt.date,
    days: int,
    seed: int,
    bare_read: bool,
    reuse_history: bool = False,
    world_days: int | None = None,
) -> dict[str, Any]:
    """Simulates `days` dates ending on `day` (or `world_days` of them, of which the warehouse
    starts on the last `days`), backfills all but the last (untimed), runs the last alone and
    breaks its cost down."""
    first = day - dt.timedelta(days=days - 1)
    world = max(world_days or days, days)
    landing = _landing(workdir, scale, day - dt.timedelta(days=world - 1), world, seed)
    of_world = f"-of-{world}d" if world != days else ""
    home = workdir / f"home-{scale}-{days}d{of_world}"
    shutil.rmtree(home, ignore_errors=True)
    _point_at(home, landing)
    snapshot = workdir / f"history-{scale}-{days}d{of_world}-seed{seed}"
    restored = days > 1 and reuse_history and (snapshot / SNAPSHOT_MARKER).exists()
    if restored:
        built = json.loads((snapshot / SNAPSHOT_MARKER).read_text())
        _say(
            f"restoring the history backfilled at commit {built['commit']} from {snapshot} "
            f"(this checkout: {_commit()})"
        )
        # Restored to the same path: the Dagster instance and the lake's journal name it.
        shutil.copytree(snapshot / "home", home, symlinks=True)
        # A history backfilled by an earlier checkout holds dbt's partial-parse state of that
        # checkout's project: the first night after a deployment parses it all again (4-6 s),
        # the nights after do not. The timed night is one of those.
        _parse_untimed("the restored home")
        last = (day - dt.timedelta(days=1)).isoformat()
        subprocess.run([sys.executable, __file__, "--child-forecast-forms", last], check=True)
        subprocess.run([sys.executable, __file__, "--child-compact"], check=True)
    else:
        home.mkdir(parents=True)
        if days > 1:
            _say(f"backfilling {first}..{day - dt.timedelta(days=1)} (untimed)")
            started = time.perf_counter()
            _run(first, day - dt.timedelta(days=1), home / "backfill.log")
            _say(f"  backfilled in {time.perf_counter() - started:.1f}s")
            if reuse_history:
                shutil.rmtree(snapshot, ignore_errors=True)
                shutil.copytree(home, snapshot / "home", symlinks=True)
                (snapshot / SNAPSHOT_MARKER).write_text(
                    json.dumps({"commit": _commit(), "first": first.isoformat(), "days": days})
                )
                _say(f"  history kept in {snapshot} for --reuse-history")
        else:
            # A first night in a fresh home parses the whole project (4-5 s); every night after
            # it finds the partial-parse state its predecessor left, and the timed night is one
            # of those, as a backfilled or restored history's is.
            _parse_untimed("the fresh home")
    # The restore and the backfill leave gigabytes of written pages for the kernel to flush
    # (a year's history is 4 GB), and it flushed them during the timed night: that night's
    # first steps ran slower on day 365 than on day 30 (its loads and gates by 1.5-2 s), and
    # the same steps later in the night did not. Flushed here, untimed, as a nightly run finds
    # its disk.
    _flush_written_pages()
    _say(f"running daily_pipeline for {day} (log {home / 'run.log'})")
    run = _run(day, day, home / "run.log")
    _say(f"  ran in {run['wall_seconds']:.1f}s, {run['cpu_seconds']:.1f} CPU seconds")
    run_id, windows, run_seconds = _run_steps(day, day)
    steps = {key: end - start for key, (start, end) in windows.items()}
    stages = dict.fromkeys(STAGES, 0.0)
    for step_key, seconds in steps.items():
        stages[_stage_of(step_key)] += seconds
    stages["dagster"] = run["wall_seconds"] - sum(steps.values())
    # Dagster's share splits where it goes: before the run starts (imports, loading the
    # definitions and the dbt manifest) and inside it, between and around the steps.
    overhead = {
        "before_run_start": run["wall_seconds"] - run_seconds if run_seconds else None,
        "within_run": run_seconds - sum(steps.values()) if run_seconds else None,
    }
    dbt_results = _dbt_artifact("run_results.json")
    if dbt_results is None:
        _say(f"warning: no dbt run_results.json of run {run_id[:8]}")
    nodes, dbt_elapsed = _dbt_nodes(dbt_results) if dbt_results else ([], None)
    phases = _dbt_phases(windows.get(DBT_STEP), dbt_results)
    result: dict[str, Any] = {
        "scale": scale,
        "date": day.isoformat(),
        "history_days": days - 1,
        "world_days": world,
        "run_id": run_id,
        "wall_seconds": run["wall_seconds"],
        "cpu_seconds": run["cpu_seconds"],
        "dagster_run_seconds": run_seconds,
        "stages": stages,
        "dagster_overhead_seconds": overhead,
        "steps": dict(sorted(steps.items(), key=lambda kv: kv[1], reverse=True)),
        "dbt_elapsed_seconds": dbt_elapsed,
        "dbt_phases": phases,
        "dbt_timeline": _dbt_timeline(dbt_results, phases),
        "dbt_nodes": nodes,
        "peak_mb": max(run["peak_self_mb"], run["peak_children_mb"]),
        "peak_run_process_mb": run["peak_self_mb"],
        "peak_children_mb": run["peak_children_mb"],
        "home": str(home),
        "history_restored": restored,
        "landing": str(landing),
    }
    if bare_read:
        # After the run, so no bare-read process counts in the run's peak; the files are in the
        # page cache for both sides either way (the simulator or the run has just read them).
        _say(f"bare DuckDB read of {day}'s files")
        read = _bare_read(landing, day, workdir / "scratch")
        result["bare_read"] = read
        result["ratio"] = run["wall_seconds"] / read["seconds"] if read["seconds"] else None
    return result


def print_day(result: dict[str, Any], top: int) -> None:
    wall = result["wall_seconds"]
    history = f", after {result['history_days']} days of history" if result["history_days"] else ""
    print(f"\n{result['scale']} day {result['date']}{history} (run {result['run_id'][:8]})")
    print(f"{'stage':14} {'seconds':>9} {'share':>6}")
    for stage in STAGES:
        seconds = result["stages"][stage]
        if stage == "other" and not seconds:
            continue
        print(f"{stage:14} {seconds:>9.2f} {seconds / wall:>6.0%}")
    print(f"{'run (wall)':14} {wall:>9.2f}")
    print(
        f"{'run (CPU)':14} {result['cpu_seconds']:>9.2f}  user and system seconds of the run's "
        "processes"
    )
    overhead = result["dagster_overhead_seconds"]
    if overhead["before_run_start"] is not None:
        print(
            f"dagster: {overhead['before_run_start']:.2f}s before the run starts (imports, "
            f"definitions), {overhead['within_run']:.2f}s within it, around the steps"
        )
    others = [k for k in result["steps"] if _stage_of(k) == "other"]
    if others:
        print("other steps: " + ", ".join(f"{k} {result['steps'][k]:.2f}s" for k in others))
    slowest = list(result["steps"].items())[:5]
    print("slowest steps: " + ", ".join(f"{k} {seconds:.2f}s" for k, seconds in slowest))
    nodes = result["dbt_nodes"]
    if nodes:
        by_type: dict[str, float] = {}
        for node in nodes:
            by_type[node["type"]] = by_type.get(node["type"], 0.0) + node["seconds"]
        totals = ", ".join(f"{kind}s {seconds:.2f}s" for kind, seconds in sorted(by_type.items()))
        print(
            f"\ndbt: {len(nodes)} nodes ({totals}); dbt's own elapsed "
            f"{result['dbt_elapsed_seconds'] or 0:.2f}s of the {result['stages']['dbt']:.2f}s "
            "step (the rest: starting dbt, parsing, dagster-dbt's events and row counts)"
        )
        phases = result.get("dbt_phases")
        if phases:
            parse = "partial" if phases["partial_parse_refused"] is None else "whole"
            why = phases["partial_parse_refused"]
            print(
                f"dbt step: {phases['before_dbt']:.2f}s before dbt starts, parse "
                f"{phases['parse']:.2f}s ({parse}{f': {why}' if why else ''}), build "
                f"{phases['build']:.2f}s, {phases['after_dbt']:.2f}s after dbt exits "
                "(Dagster storing the events still queued; on Spark, counting the marts)"
            )
        timeline = result.get("dbt_timeline")
        if timeline and timeline["critical_path"]:
            floor = timeline["threads_floor_seconds"]
            spread = (
                f"; on {timeline['threads']} threads no schedule takes less than {floor:.2f}s"
                if floor is not None
                else ""
            )
            print(
                f"dbt build: its nodes' {timeline['node_seconds']:.2f}s{spread}; its longest "
                f"chain {timeline['critical_seconds']:.2f}s, the nodes of more than a tenth of "
                "a second on it: "
                + " -> ".join(
                    f"{_short_node(n['unique_id'])} {n['seconds']:.2f}"
                    for n in timeline["critical_path"]
                    if n["seconds"] > 0.1
                )
            )
        for node in nodes[:top]:
            print(f"  {node['seconds']:>7.2f}  {node['status']:7} {node['unique_id']}")
        if len(nodes) > top:
            print(f"  ... {len(nodes) - top} more in the JSON")
    print(
        f"\npeak memory {result['peak_mb']:.0f} MB (run process "
        f"{result['peak_run_process_mb']:.0f} MB, children {result['peak_children_mb']:.0f} MB)"
    )
    if "bare_read" in result:
        read = result["bare_read"]
        print(
            f"bare DuckDB read {read['seconds']:.2f}s ({read['rows']:,} rows); "
            f"run / bare read: {result['ratio']:.2f}x"
        )


def _day_counts(text: str) -> list[int]:
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of day counts >= 1")
    return counts


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-forecast-forms":
        _child_forecast_forms(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-compact":
        _child_compact()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-parse":
        _child_parse()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-seeds":
        _child_seeds()
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-run":
        _child_run(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale",
        choices=["small", "medium", "large"],
        help="default: large for one day, small for --history",
    )
    parser.add_argument("--date", default="2026-03-02", help="the timed business date")
    parser.add_argument(
        "--history",
        nargs="?",
        const="30,365",
        type=_day_counts,
        metavar="N,N",
        help="history mode: day N after N-1 days of history, for each N (default 30,365)",
    )
    parser.add_argument(
        "--days",
        type=_day_counts,
        metavar="N[,N]",
        help="days simulated, the last one timed: one count for a day (default 1), or the "
        "history mode's counts, overriding --history's",
    )
    parser.add_argument(
        "--same-world",
        action="store_true",
        help="history mode: every N times the same day of the same simulated brand (that of "
        "the largest N), the warehouse started N-1 days before it; without it, each N "
        "simulates a brand that starts with its history, so a longer history is also a "
        "larger day",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reuse-history",
        action="store_true",
        help="keep each backfilled history in the workdir and restore it instead of "
        "backfilling again (a snapshot built by older code says so: rebuild it for figures "
        "you publish)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the landing zones here between runs")
    parser.add_argument("--json", type=Path, help="default: <workdir>/bench_run.json")
    parser.add_argument("--top", type=int, default=20, help="dbt nodes to print (all in JSON)")
    parser.add_argument(
        "--no-bare-read", action="store_true", help="skip DuckDB's bare read of the timed day"
    )
    parser.add_argument(
        "--no-warm-up",
        action="store_true",
        help="history mode: skip the untimed first night that warms the caches",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="run the sequence of days K times, interleaved, and compare medians (default 1)",
    )
    args = parser.parse_args()

    history = args.history is not None
    if args.same_world and not history:
        parser.error("--same-world takes --history")
    if not history and args.days and len(args.days) > 1:
        parser.error("--days takes one count without --history")
    counts = args.days or args.history or [1]
    scale = args.scale or ("small" if history else "large")
    day = dt.date.fromisoformat(args.date)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="bench-run-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    json_path = args.json or workdir / "bench_run.json"

    if args.repeat < 1:
        parser.error("--repeat takes a count >= 1")
    if history and not args.no_warm_up:
        # The first run of an invocation pays for cold caches, and it was always the smallest
        # N's: Dagster's start took 10.2 s against 3.8 s, the whole night 43.9 s against 30.0 s
        # and 32.3 s later in the same invocation, which flattered the ratio.
        _say(f"warm-up: day {counts[0]}, untimed")
        measure_day(
            workdir,
            scale,
            day,
            counts[0],
            args.seed,
            bare_read=False,
            reuse_history=args.reuse_history,
            world_days=max(counts) if args.same_world else None,
        )
    results = []
    for round_ in range(1, args.repeat + 1):
        for days in counts:
            if args.repeat > 1:
                _say(f"round {round_} of {args.repeat}: day {days}")
            result = measure_day(
                workdir,
                scale,
                day,
                days,
                args.seed,
                bare_read=not args.no_bare_read,
                reuse_history=args.reuse_history,
                world_days=max(counts) if args.same_world else None,
            )
            result["round"] = round_
            print_day(result, args.top)
            results.append(result)
    report: dict[str, Any] = {
        "mode": "history" if history else "day",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": results,
    }
    walls = {
        days: [r["wall_seconds"] for r in results if r["history_days"] == days - 1]
        for days in counts
    }
    medians = {days: statistics.median(seconds) for days, seconds in walls.items()}
    if args.repeat > 1:
        report["median_wall_seconds"] = {str(days): m for days, m in medians.items()}
        for days, seconds in walls.items():
            listed = ", ".join(f"{s:.1f}" for s in seconds)
            print(f"day {days}: median {medians[days]:.2f}s of {listed}")
    if history and len(counts) > 1:
        smallest, largest = counts[0], counts[-1]
        ratio = medians[largest] / medians[smallest]
        report["history_ratio"] = ratio
        report["history_ratio_by_round"] = [
            big / small for small, big in zip(walls[smallest], walls[largest], strict=True)
        ]
        print(
            f"\nday {largest} / day {smallest}: {ratio:.2f}x "
            f"({medians[largest]:.2f}s / {medians[smallest]:.2f}s"
            f"{', medians' if args.repeat > 1 else ''}; target <= 1.25x for 365 / 30)"
        )
        # The same comparison in CPU seconds: a slow spell of the host stretches a run's wall
        # time by the minutes its cores were given away, its CPU time far less.
        cpu = {
            days: statistics.median(
                r["cpu_seconds"] for r in results if r["history_days"] == days - 1
            )
            for days in counts
        }
        report["history_cpu_ratio"] = cpu[largest] / cpu[smallest]
        print(
            f"day {largest} / day {smallest}, CPU seconds: {report['history_cpu_ratio']:.2f}x "
            f"({cpu[largest]:.1f}s / {cpu[smallest]:.1f}s"
            f"{', medians' if args.repeat > 1 else ''})"
        )
        # The seconds the history adds, whole and by stage: work every night does alike (a
        # night's fixed cost) moves the ratio, not these (a fixed cost 2 s lower took the
        # ratio from 1.30x to 1.37-1.41x, the history's seconds unchanged within the noise).
        report["history_growth_seconds"] = medians[largest] - medians[smallest]
        by_stage = {
            stage: statistics.median(
                r["stages"][stage] for r in results if r["history_days"] == largest - 1
            )
            - statistics.median(
                r["stages"][stage] for r in results if r["history_days"] == smallest - 1
            )
            for stage in STAGES
        }
        report["history_growth_by_stage"] = by_stage
        print(
            f"day {largest} - day {smallest}: {report['history_growth_seconds']:+.2f}s"
            f"{' (medians)' if args.repeat > 1 else ''}; by stage: "
            + ", ".join(f"{stage} {g:+.2f}s" for stage, g in by_stage.items() if abs(g) >= 0.05)
        )
        # ... and by step and by dbt node, the most first: where the next change is to look
        for label, seconds_of in (
            ("step", lambda r: r["steps"]),
            ("dbt node", lambda r: {n["unique_id"]: n["seconds"] for n in r["dbt_nodes"]}),
        ):
            growth = _growth_by_key(results, seconds_of, smallest, largest)
            report[f"history_growth_by_{label.replace(' ', '_')}"] = growth
            print(
                f"day {largest} - day {smallest} by {label}: "
                + ", ".join(f"{key} {g:+.2f}s" for key, g in list(growth.items())[: args.top])
            )
        if args.repeat > 1:
            # A shared machine only ever adds time (a cold start, a neighbour's load): each
            # day's fastest run is its least disturbed. Neither ratio is steady on a noisy
            # machine (three invocations of near-identical code: medians 1.50x-1.64x, fastest
            # 1.56x-1.73x), so both are printed, side by side.
            fastest = {days: min(seconds) for days, seconds in walls.items()}
            report["history_ratio_of_fastest"] = fastest[largest] / fastest[smallest]
            print(
                f"day {largest} / day {smallest}, fastest runs: "
                f"{report['history_ratio_of_fastest']:.2f}x "
                f"({fastest[largest]:.2f}s / {fastest[smallest]:.2f}s)"
            )
        first, last = results[0], results[len(counts) - 1]
        if "bare_read" in first and "bare_read" in last:
            # The simulated brand grows with its history, so the two last days differ in size
            # too: their rows tell how much of the ratio is the day's own volume.
            print(
                f"rows of the day: {last['bare_read']['rows']:,} / "
                f"{first['bare_read']['rows']:,}; run / bare read: "
                f"{last['ratio']:.2f}x / {first['ratio']:.2f}x"
            )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {json_path}")


if __name__ == "__main__":
    main()
