"""Traffic: data-driven attribution, a Python mart (marts.yml) written on the engine dbt built
the marts on, so BI, the report and the serving copy read it like any mart.

The journeys and their transition counts are dbt models (int_journeys,
mart_journey_transitions); the removal effects are solved here (markov.py) from the counts,
which stay channels x channels per window whatever the number of journeys. Reads go through
`open_marts` and writes through `write_mart`, so the same code runs on DuckDB and Spark; the
counts are read sorted, so both engines solve the same systems and write the same bits.
"""

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import pyarrow as pa

from assets.traffic.markov import CONVERSION, START, removal_effects
from orchestration.lib.marts import open_marts
from orchestration.lib.python_marts import (
    load_contracts,
    python_mart_asset,
    write_mart,
)
from orchestration.settings import Settings, load_settings

CONTRACTS = load_contracts(Path(__file__).with_name("marts.yml"))
DATA_DRIVEN = CONTRACTS["mart_attribution_data_driven"]
TRANSITIONS = dg.AssetKey("mart_journey_transitions")
# doubles to 6 decimals, as the dbt marts round what could differ in its last bits
DIGITS = 6

ARROW_TYPES = {
    "date": pa.date32(),
    "string": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "decimal(18,2)": pa.float64(),  # cast to decimal by the contract on write
}

Transition = tuple[str, dt.date, dt.date, str, str, int, float]


def read_transitions(settings: Settings) -> list[Transition]:
    """Every window's transition counts, sorted: (window_type, window_start, window_end,
    from_state, to_state, transitions, gmv)."""
    with open_marts(settings) as con:
        return con.execute(
            "select window_type, window_start, window_end, from_state, to_state, "
            "transitions, cast(gmv as double) from marts.mart_journey_transitions "
            "order by window_type, window_start, from_state, to_state"
        ).fetchall()


def attribution_table(transitions: Iterable[Transition]) -> tuple[pa.Table, float]:
    """The mart's rows from the transition counts, and the seconds the removal effects took."""
    windows: dict[tuple[str, dt.date, dt.date], list[tuple[str, str, int, float]]] = defaultdict(
        list
    )
    for window_type, start, end, source, target, count, gmv in transitions:
        windows[(window_type, start, end)].append((source, target, int(count), float(gmv or 0)))
    rows: dict[str, list] = {c.name: [] for c in DATA_DRIVEN.columns}
    solving = 0.0
    for (window_type, start, end), window in sorted(windows.items()):
        counts = {(s, t): n for s, t, n, _ in window}
        converted = {s: (n, g) for s, t, n, g in window if t == CONVERSION}
        values = {s: g for s, (_, g) in converted.items()}
        journeys = sum(n for s, _, n, _ in window if s == START)
        conversions = sum(n for n, _ in converted.values())
        gmv = round(sum(values.values()), 2)
        started = time.perf_counter()
        result = removal_effects(counts, values)
        solving += time.perf_counter() - started
        for channel in result.channels:
            last_touch, last_touch_gmv = converted.get(channel, (0, 0.0))
            share, gmv_share = result.shares[channel], result.value_shares[channel]
            row = {
                "window_type": window_type,
                "window_start": start,
                "window_end": end,
                "date_day": end,
                "month_start": start if window_type == "month" else None,
                "channel": channel,
                "journeys": journeys,
                "window_conversions": conversions,
                "window_gmv": gmv,
                "conversion_probability": round(result.conversion_probability, DIGITS),
                "removal_effect": round(result.removal_effects[channel], DIGITS),
                "share": round(share, DIGITS),
                "conversions": round(share * conversions, DIGITS),
                "gmv_removal_effect": round(result.value_removal_effects[channel], DIGITS),
                "gmv_share": round(gmv_share, DIGITS),
                "gmv": round(gmv_share * gmv, 2),
                "last_touch_conversions": last_touch,
                "last_touch_gmv": round(last_touch_gmv, 2),
                "last_touch_share": round(last_touch / conversions, DIGITS) if conversions else 0.0,
            }
            for name, value in row.items():
                rows[name].append(value)
    schema = pa.schema([(c.name, ARROW_TYPES[c.data_type]) for c in DATA_DRIVEN.columns])
    return pa.table(rows, schema=schema), solving


@python_mart_asset(DATA_DRIVEN, [TRANSITIONS], "traffic", {"numpy"})
def mart_attribution_data_driven(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = load_settings()
    started = time.perf_counter()
    transitions = read_transitions(settings)
    read_seconds = time.perf_counter() - started
    table, solve_seconds = attribution_table(transitions)
    if settings.dbt_target == "duckdb":
        with context.resources.warehouse.connect() as con:
            written = write_mart(settings, DATA_DRIVEN, table, con)
    else:
        written = write_mart(settings, DATA_DRIVEN, table)
    windows = len(
        set(
            zip(
                *(table.column(c).to_pylist() for c in ("window_type", "window_start")), strict=True
            )
        )
    )
    context.log.info(
        f"removal effects of {windows} windows ({len(transitions)} transition counts) "
        f"solved in {solve_seconds:.3f}s"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "windows": windows,
            "transition_counts": len(transitions),
            "read_seconds": round(read_seconds, 3),
            "removal_effects_seconds": round(solve_seconds, 3),
        }
    )


defs = dg.Definitions(assets=[mart_attribution_data_driven])
