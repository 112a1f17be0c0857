"""A one-line-per-event console logger for the `growth` CLI: progress without tracebacks.

Runs started from the UI keep Dagster's standard console logger; the full error, traceback
included, is always in the run's event log (`growth ui`).
"""

import logging
import re
import sys

import dagster as dg

# dbt announces every node twice (START, then its result): the result line is the progress.
_DBT_NODE_START = re.compile(r"^\d+ of \d+ START ")


class SkipDbtNodeStarts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        message = str(meta.get("orig_message") or record.getMessage()).strip()
        return not _DBT_NODE_START.match(message)


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = meta.get("step_key") or ""
        message = str(meta.get("orig_message") or record.getMessage()).strip()
        first = message.splitlines()[0] if message else ""
        stamp = self.formatTime(record, "%H:%M:%S")
        return f"{stamp} {record.levelname.lower():7} {step + ': ' if step else ''}{first}"


@dg.logger(
    config_schema={"log_level": dg.Field(str, default_value="INFO")},
    description="One line per event on stderr, first line of each message only.",
)
def concise_console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("growth.console")
    logger.setLevel(init_context.logger_config["log_level"])
    logger.propagate = False
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLineFormatter())
        handler.addFilter(SkipDbtNodeStarts())
        logger.addHandler(handler)
    return logger
