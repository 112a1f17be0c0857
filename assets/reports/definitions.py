"""The daily evaluation report and the gates in front of it."""

import datetime as dt

import dagster as dg

from assets.reports.evaluation import (
    ReportInputMissing,
    build_report_data,
    remove_report,
    write_report,
)
from orchestration.lib.gate_ledger import failed_gates
from orchestration.lib.gx_checks import build_gx_check
from orchestration.lib.marts import open_marts
from orchestration.lib.partitions import daily_partitions, partition_dates, single_run
from orchestration.settings import load_settings

FCT_ORDERS = dg.AssetKey("fct_orders")


def _withdraw_reports(dates: list[str | None]) -> None:
    reports = load_settings().reports
    for date in dates:
        if date:
            remove_report(reports, dt.date.fromisoformat(date))


fct_orders_gate = build_gx_check(
    asset_key=FCT_ORDERS,
    suite_name="fct_orders",
    table="marts.fct_orders",
    date_column="date_day",
    description=(
        "Report gate: great-expectations suite fct_orders on each payment date of the run. "
        "A date that fails has its evaluation report withheld (and withdrawn); the run's other "
        "dates get theirs."
    ),
    on_failed_dates=_withdraw_reports,
    after_landed_gates=True,
)


@dg.asset(
    key="evaluation_report",
    group_name="reports",
    description=(
        "The daily evaluation report: $GROWTH_REPORTS/<date>/evaluation.html (self-contained, "
        "bilingual) and evaluation.json (every figure). Written only for the dates that passed "
        "every gate (the gate ledger, audit.gate_results); a held-back date's report is "
        "withdrawn and the date named."
    ),
    deps=[FCT_ORDERS],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    kinds={"html", "json"},
    owners=["team:growth-data"],
    required_resource_keys={"warehouse"},
)
def evaluation_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = load_settings()
    dates = partition_dates(context)
    with context.resources.warehouse.connect(read_only=True) as con:
        held_back = failed_gates(con, dates)
    written: dict[str, str] = {}
    with open_marts(settings) as con:
        for number, date in enumerate(dates, start=1):
            day = dt.date.fromisoformat(date)
            if date in held_back:
                remove_report(settings.reports, day)
                context.log.warning(
                    f"[{number}/{len(dates)}] no report for {date}: it failed "
                    f"{', '.join(held_back[date])}"
                )
                continue
            try:
                data = build_report_data(con, day)
            except ReportInputMissing as exc:
                raise dg.Failure(description=str(exc)) from exc
            html_path, _ = write_report(data, settings.reports)
            written[date] = str(html_path)
            context.log.info(f"[{number}/{len(dates)}] report {date}: {html_path}")
    # each date's partition names its own report, or the gates that withheld it: the run's
    # whole list on every partition made a year's backfill store it 365 times
    for date in dates:
        context.add_asset_metadata(
            {"held_back_by": dg.MetadataValue.json(held_back[date])}
            if date in held_back
            else {"report": dg.MetadataValue.path(written[date])},
            partition_key=date,
        )
    return dg.MaterializeResult()


defs = dg.Definitions(assets=[evaluation_report], asset_checks=[fct_orders_gate])
