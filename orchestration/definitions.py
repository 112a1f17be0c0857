"""The one Definitions object of the code location.

Domains are discovered: every `assets/<domain>/definitions.py` exposing `defs` is merged, so a
new domain touches no central registry. Warehouse writers run one at a time (in-process
executor): DuckDB allows one writing process per file.
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

import assets
from orchestration.jobs import daily_pipeline, daily_schedule, report_job
from orchestration.lib.loggers import concise_console_logger
from orchestration.lib.resources import build_resources
from orchestration.sensors import landing_zone_sensor, run_failure_sensor


def domain_definitions() -> list[dg.Definitions]:
    found = []
    for module in sorted(pkgutil.iter_modules(assets.__path__), key=lambda m: m.name):
        if module.ispkg:
            try:
                domain = importlib.import_module(f"assets.{module.name}.definitions")
            except ModuleNotFoundError as exc:
                if exc.name != f"assets.{module.name}.definitions":
                    raise
                continue
            found.append(domain.defs)
    return found


defs = dg.Definitions.merge(
    *domain_definitions(),
    dg.Definitions(
        jobs=[daily_pipeline, report_job],
        schedules=[daily_schedule],
        sensors=[landing_zone_sensor, run_failure_sensor],
        resources=build_resources(),
        executor=dg.in_process_executor,
        loggers={"console": dg.colored_console_logger, "concise": concise_console_logger},
    ),
)
