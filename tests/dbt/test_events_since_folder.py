"""A daily run reads the SDK's events from the folders of its rebuilt dates on
(`events_as_arrived(since)`), not through the view that aggregates retries over every folder:
for the events dated from then on it must be exactly the view, retries included."""

from __future__ import annotations

import json

import duckdb

from assets.ingest.loader import load_source_specs

# (event_id, event time, landing folder): retries land a day or two after the first landing
LANDINGS = [
    ("early", "2026-02-28 09:00:00", "2026-02-28"),
    ("early", "2026-02-28 09:00:00", "2026-03-02"),  # an old event retried into the window
    ("e1", "2026-03-01 10:00:00", "2026-03-01"),
    ("e1", "2026-03-01 10:00:00", "2026-03-02"),
    ("e2", "2026-03-02 08:00:00", "2026-03-02"),
    ("e2", "2026-03-02 08:00:00", "2026-03-03"),
    ("e2", "2026-03-02 08:00:00", "2026-03-04"),
    ("e3", "2026-03-02 23:59:00", "2026-03-03"),  # late, never on its own date
    ("e3", "2026-03-02 23:59:00", "2026-03-04"),
    ("e4", "2026-03-03 12:00:00", "2026-03-03"),
]
SINCE = "2026-03-02"


def select_events(relation: str) -> str:
    return (
        f"select event_id, cast(event_date as varchar) as event_date, "
        f"cast(landed_date as varchar) as landed_date from {relation} as x "
        f"where event_date >= cast('{SINCE}' as date) order by event_id"
    )


def test_the_events_read_from_a_folder_on_are_the_views_events_of_those_dates(tmp_path, dbt):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        # the raw table as the loader declares it (keyed columns included)
        columns = {**load_source_specs()["events"].columns(), "_business_date": "DATE"}
        con.execute(
            "create table raw.events ("
            + ", ".join(f"{name} {kind}" for name, kind in columns.items())
            + ")"
        )
        for event_id, time, folder in LANDINGS:
            con.execute(
                "insert into raw.events (event_id, event_type, event_time, _business_date) "
                "values (?, 'page_view', ?, ?)",
                [event_id, time, folder],
            )
    rows = {}
    for name, relation in {
        "view": "{{ ref('stg_events__events') }}",
        "since": f"({{{{ events_as_arrived('{SINCE}') }}}})",
    }.items():
        if name == "view":
            built = dbt(warehouse, "run", "--select", "stg_events__events")
            assert built.returncode == 0, built.stdout
        shown = dbt(
            warehouse,
            "show",
            "--inline",
            select_events(relation),
            "--limit",
            "100",
            "--output",
            "json",
            "--log-format",
            "json",
        )
        assert shown.returncode == 0, shown.stdout
        previews = [
            json.loads(line)["data"]["preview"]
            for line in shown.stdout.splitlines()
            if line.startswith("{") and '"preview"' in line
        ]
        rows[name] = json.loads(previews[-1])
    expected = [
        {"event_id": "e2", "event_date": "2026-03-02", "landed_date": "2026-03-02"},
        {"event_id": "e3", "event_date": "2026-03-02", "landed_date": "2026-03-03"},
        {"event_id": "e4", "event_date": "2026-03-03", "landed_date": "2026-03-03"},
    ]
    assert rows["view"] == expected
    assert rows["since"] == expected
