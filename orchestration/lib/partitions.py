"""The one daily partitioning every daily asset shares: Asia/Shanghai business dates."""

from __future__ import annotations

import os
import warnings

import dagster as dg

from orchestration.settings import TIMEZONE

# The first business date Dagster offers; simulated history and backfills start after it.
PARTITIONS_START = os.environ.get("GROWTH_PARTITIONS_START", "2024-01-01")

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone=TIMEZONE, end_offset=0
)

# A backfill of N days is one run (one dbt invocation with the range as vars), not N runs.
single_run = dg.BackfillPolicy.single_run()


def partition_dates(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[str]:
    """The business dates a run covers: its partition range, in order."""
    if context.has_partition_key_range or context.has_partition_key:
        return list(context.partition_keys)
    return []


# Single-run backfills are a deliberate choice (one dbt invocation per range, not a run per
# day); Dagster still flags the `backfill_policy` parameter as beta on every asset using it.
warnings.filterwarnings(
    "ignore",
    message=r"Parameter `backfill_policy` .* is currently in beta",
    category=dg.BetaWarning,
)
