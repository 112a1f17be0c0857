"""The CLI's console logger: one line per event, no tracebacks, no dbt START chatter."""

from __future__ import annotations

import logging

from orchestration.lib.loggers import OneLineFormatter, SkipDbtNodeStarts


def record(message: str, step: str | None = None) -> logging.LogRecord:
    rec = logging.LogRecord("growth", logging.ERROR, __file__, 1, message, None, None)
    rec.dagster_meta = {"step_key": step, "orig_message": message}
    return rec


def test_a_multiline_error_becomes_one_line_with_its_step():
    text = OneLineFormatter().format(
        record("Execution failed.\nTraceback (most recent call last):\n  File x", "raw__orders")
    )
    assert "\n" not in text
    assert text.endswith("error   raw__orders: Execution failed.")


def test_dbt_node_start_lines_are_dropped_and_results_kept():
    keep = SkipDbtNodeStarts().filter
    assert not keep(record("3 of 40 START sql view model staging.stg_orders__orders ... [RUN]"))
    assert keep(record("3 of 40 OK created sql view model staging.stg_orders__orders"))
    assert keep(record("dbt build for business dates 2026-03-01..2026-03-07"))
