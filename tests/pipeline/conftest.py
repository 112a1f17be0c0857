"""The end-to-end run every module of tests/pipeline reads: one simulated landing zone through
daily_pipeline on DuckDB (as a backfill, then the last day alone, as the nightly run would), and
the same dates again on Spark. Package-scoped: built once for the whole folder."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestration.cli import execute
from orchestration.simulator import simulate
from tests.conftest import GROWTH_VARS
from tests.pipeline.e2e import DAYS, END, PII_KEY, START, request_erasure


@pytest.fixture(scope="package")
def simulated_run(tmp_path_factory, request):
    """One simulated landing zone, run once through daily_pipeline (shared by the tests)."""
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    home = tmp_path_factory.mktemp("e2e") / "growth"
    for var in GROWTH_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GROWTH_HOME", str(home))
    monkeypatch.setenv("GROWTH_PII_KEY", PII_KEY)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    from orchestration.settings import load_settings

    settings = load_settings()
    truth = simulate(settings.landing, START, DAYS, scale="small", seed=11)
    # the last folder also asks to erase a customer whose orders the backfill already built
    erased = request_erasure(settings.landing, END)
    # All days but the last as a backfill, then the last day alone, as the nightly run would:
    # the last day's folder re-reports earlier orders (payments, refunds), which must restate
    # the dates those orders were paid on.
    ok, reasons = execute("daily_pipeline", START, END - dt.timedelta(days=1), settings)
    assert ok, reasons
    ok, reasons = execute("daily_pipeline", END, END, settings)
    assert ok, reasons
    return settings, truth, erased


@pytest.fixture(scope="package")
def spark_run(simulated_run):
    """The same days again, as one run with dbt on Spark; its reports and serving copy go to
    folders of their own. Returns the DuckDB run's settings and the Spark run's."""
    settings, _, _ = simulated_run
    from orchestration.settings import load_settings

    # the Spark settings hold only for this run: a later test of the package (the report gate's
    # own home) must not inherit the Spark target from the environment
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("GROWTH_DBT_TARGET", "spark")
        monkeypatch.setenv("GROWTH_REPORTS", str(settings.home / "spark-reports"))
        monkeypatch.setenv("GROWTH_SERVING", str(settings.home / "spark-serving" / "growth.duckdb"))
        spark = load_settings()
        assert spark.dbt_target == "spark" and spark.warehouse == settings.warehouse
        ok, reasons = execute("daily_pipeline", START, END, spark)
    assert ok, reasons
    return settings, spark
