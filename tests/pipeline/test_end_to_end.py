"""Five simulated days through Dagster: fct_orders agrees with the simulator's truth (also
for dates restated by a later day's folder), the report is written, re-running the same dates
leaves the marts byte-for-byte equal, and a customer's erasure request, arriving after their
orders were built, leaves no personal data in staging, marts, the serving copy or the reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pytest

from assets.reports.evaluation import build_report_data, write_report
from orchestration.cli import execute
from orchestration.lib.marts import open_marts
from tests.pipeline.e2e import DAYS, END, PII_KEY, START, landing_records


def mart_digest(warehouse, table: str) -> str:
    """A digest of a mart's full content in a stable order: equal digests, equal marts."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(f"select * from marts.{table} order by all").fetchall()
    finally:
        con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def late_restatements(landing, day: dt.date) -> set[str]:
    """Payment dates (before `day`) of orders that `day`'s folder re-reports."""
    con = duckdb.connect()
    rows = con.execute(
        "select distinct cast(cast(paid_at as timestamptz) at time zone 'Asia/Shanghai' as date) "
        f"from read_json('{landing}/orders/{day}/orders.jsonl.gz') where paid_at is not null"
    ).fetchall()
    con.close()
    return {d.isoformat() for (d,) in rows if d < day}


def keyed_hash(value: str) -> str:
    """The loader's pseudonymous key of a value (HMAC-SHA256 under the run's key)."""
    return hmac.new(PII_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def column_names(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """The columns of a table, view or table function such as read_parquet(...)."""
    return [d[0] for d in con.execute(f"select * from {relation} limit 0").description]


def relation_texts(con: duckdb.DuckDBPyConnection, relation: str) -> Iterator[str]:
    """Every value of a relation, as text (numbers too: a phone may hide in a bigint)."""
    columns = column_names(con, relation)
    for column in columns:
        rows = con.execute(
            f'select distinct cast("{column}" as varchar) from {relation} '
            f'where "{column}" is not null'
        ).fetchall()
        yield from (v for (v,) in rows)


def personal_data_in(texts: Iterable[str], needles: set[str]) -> set[str]:
    """The needles found inside the texts, also within a longer run of letters and digits
    (`tel13800138000`); every needle is letters and digits."""
    assert all(n.isalnum() for n in needles)
    lengths = {len(n) for n in needles}
    found: set[str] = set()
    for text in texts:
        for token in re.findall(r"[0-9A-Za-z]+", text):
            for length in lengths:
                found.update(
                    token[i : i + length]
                    for i in range(len(token) - length + 1)
                    if token[i : i + length] in needles
                )
    return found


def schema_relations(con: duckdb.DuckDBPyConnection, schemas: Iterable[str]) -> list[str]:
    """Every table and view of those schemas."""
    names = ", ".join(f"'{s}'" for s in schemas)
    return [
        f'{s}."{t}"'
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({names}) order by all"
        ).fetchall()
    ]


def test_fct_orders_matches_the_simulators_truth(simulated_run):
    settings, truth, _ = simulated_run
    restated = late_restatements(settings.landing, END)
    assert restated, "the last folder should re-report orders paid on earlier dates"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        """
        select date_day, count(*), sum(gmv), sum(net_revenue),
               count(*) filter (where is_first_order)
        from marts.fct_orders group by 1 order by 1
        """
    ).fetchall()
    con.close()
    warehouse = {r[0].isoformat(): r[1:] for r in rows}
    for day, expected in truth["daily"].items():
        orders, gmv, net_revenue, new_customers = warehouse[day]
        assert orders == expected["orders"], day
        assert float(gmv) == pytest.approx(expected["gmv"], abs=0.01), day
        assert float(net_revenue) == pytest.approx(expected["net_revenue"], abs=0.01), day
        assert new_customers == expected["new_customers"], day
    assert sum(v["orders"] for v in truth["daily"].values()) > DAYS * 100


def test_marts_show_their_row_counts_in_dagster(simulated_run):
    import dagster as dg

    settings, _, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    expected = con.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    con.close()
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("fct_orders"))
    assert event.asset_materialization.metadata["dagster/row_count"].value == expected


def test_marketplace_orders_take_their_stores_channel(simulated_run):
    settings, truth, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "select order_id, channel from marts.fct_orders "
        "where store in ('tmall', 'jd', 'pinduoduo', 'douyin_shop')"
    ).fetchall()
    con.close()
    assert rows
    mismatched = [o for o, channel in rows if truth["orders"][o]["channel"] != channel]
    assert not mismatched


def test_reports_exist_for_every_date_with_figures_from_the_marts(simulated_run):
    settings, truth, _ = simulated_run
    for offset in range(DAYS):
        day = (START + dt.timedelta(days=offset)).isoformat()
        folder = settings.reports / day
        data = json.loads((folder / "evaluation.json").read_text())
        assert data["kpis"]["orders"] == truth["daily"][day]["orders"]
        html = (folder / "evaluation.html").read_text()
        assert "<svg" in html and day in html


def test_each_dates_materialization_holds_that_dates_figures(simulated_run):
    """A run over a range gives each date's partition its own load figures and its own
    report: the run's whole figures and lists on every partition made a year's backfill
    store each source's 364 dates 364 times in Dagster's event log."""
    import dagster as dg

    settings, _, _ = simulated_run
    dates = [(START + dt.timedelta(days=k)).isoformat() for k in range(DAYS)]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    read = dict(
        con.execute(
            "select cast(business_date as varchar), sum(rows_read) from audit.load_log "
            "where source = 'orders' group by 1"
        ).fetchall()
    )
    con.close()
    assert len({read[d] for d in dates}) > 1  # so a range's total cannot pass for a date's
    with dg.DagsterInstance.get() as instance:

        def metadata(key: dg.AssetKey, date: str) -> dict:
            (record,) = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[date]), limit=1
            ).records
            return record.asset_materialization.metadata

        keys = set()
        for date in dates:
            orders = metadata(dg.AssetKey(["raw", "orders"]), date)
            assert orders["rows_read"].value == read[date], date
            assert not any(isinstance(v, dg.TableMetadataValue) for v in orders.values())
            keys.add(frozenset(orders))
            report = metadata(dg.AssetKey("evaluation_report"), date)
            assert report["report"].value == str(settings.reports / date / "evaluation.html")
    assert len(keys) == 1


def test_owned_store_orders_take_their_last_touchs_channel(simulated_run):
    # the simulator's truth is the channel of the buyer's last touch within 30 days
    settings, truth, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "select order_id, channel, traffic_class from marts.fct_orders "
        "where store in ('wechat_miniprogram', 'own_site')"
    ).fetchall()
    con.close()
    assert {c for _, c, _ in rows} - {"own_site"}, "owned-store orders should come from touches"
    mismatched = [
        (o, channel, traffic_class)
        for o, channel, traffic_class in rows
        if (truth["orders"][o]["channel"], truth["orders"][o]["traffic_class"])
        != (channel, traffic_class)
    ]
    assert not mismatched


def report_texts(settings) -> Iterator[str]:
    """The text of every report file of the run (HTML and its JSON twin, every date)."""
    files = sorted(settings.reports.glob("*/evaluation.*"))
    assert len(files) == 2 * DAYS
    yield from (f.read_text(encoding="utf-8") for f in files)


def serving_texts(settings) -> Iterator[str]:
    """Every value of the serving copy: its DuckDB file and its Parquet files."""
    con = duckdb.connect(str(settings.serving), read_only=True)
    try:
        for relation in schema_relations(con, ["marts"]):
            yield from relation_texts(con, relation)
    finally:
        con.close()
    parquet = sorted((settings.serving.parent / "parquet").glob("*/*.parquet"))
    assert parquet
    con = duckdb.connect()
    try:
        for path in parquet:
            yield from relation_texts(con, f"read_parquet('{path}')")
    finally:
        con.close()


def test_no_personal_data_in_marts_or_reports(simulated_run):
    settings, _, _ = simulated_run
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    columns = {
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts'"
        ).fetchall()
    }
    assert not columns & {"phone", "wechat_unionid", "customer_id", "buyer_ref", "anonymous_id"}

    # nor any value: no clear phone, unionid or CRM customer id of the landing zone in any text
    # of the marts, the serving copy or the report files
    people = [
        *landing_records(settings.landing, "customers", "customers.jsonl"),
        *landing_records(settings.landing, "orders", "orders.jsonl.gz"),
    ]
    needles = {
        r[field]
        for r in people
        for field in ("phone", "wechat_unionid", "customer_id")
        if r.get(field)
    }
    assert len(needles) > 1000
    try:
        marts = [v for rel in schema_relations(con, ["marts"]) for v in relation_texts(con, rel)]
    finally:
        con.close()
    assert personal_data_in(marts, needles) == set()
    assert personal_data_in(serving_texts(settings), needles) == set()
    assert personal_data_in(report_texts(settings), needles) == set()


def test_an_erased_customer_leaves_no_personal_data_but_keeps_their_orders(simulated_run):
    settings, truth, erased = simulated_run
    customer_id, key = erased["customer_id"], keyed_hash(erased["customer_id"])
    personal = {
        customer_id,
        erased["phone"],
        erased["wechat_unionid"],
        keyed_hash(erased["phone"]),
        keyed_hash(erased["wechat_unionid"]),
    }
    expected = {
        o["order_id"]
        for o in landing_records(settings.landing, "orders", "orders.jsonl.gz")
        if o["customer_id"] == customer_id and o["order_id"] in truth["orders"]
    }
    assert expected
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        # raw too: the older versions of the record were purged in the lake
        relations = schema_relations(con, ["raw", "staging", "intermediate", "marts"])
        assert any(r.startswith("staging.") for r in relations)
        # raw keeps the CRM customer_id by design (sources.md); never the phone or unionid
        con.execute("create temp table personal (value varchar, kept_in_raw boolean)")
        con.executemany(
            "insert into personal values (?, ?)", [[v, v == customer_id] for v in sorted(personal)]
        )
        leaks = {}
        for relation in relations:
            found = con.execute(
                "select distinct p.value from personal p, "
                f"(select concat_ws(chr(31), *columns(*)) as line from {relation}) t "
                # a whole value, not part of a longer id (C0000003 is in OC00000031)
                "where contains(t.line, p.value) and regexp_matches(t.line, "
                "'(^|[^0-9A-Za-z])' || regexp_escape(p.value) || '($|[^0-9A-Za-z])') "
                f"and not (p.kept_in_raw and {relation.startswith('raw.')})"
            ).fetchall()
            if found:
                leaks[relation] = found
            # the CRM attributes of the erased customer, wherever a customer's row has them
            columns = set(column_names(con, relation))
            if "customer_key" in columns and "gender" in columns:
                attributes = sorted(columns & {"gender", "birth_year", "province", "city"})
                values = con.execute(
                    f"select {', '.join(attributes)} from {relation} where customer_key = ?", [key]
                ).fetchall()
                assert values and all(v is None for row in values for v in row), relation
        profile = con.execute(
            "select is_erased from staging.stg_customers__customers where customer_key = ?", [key]
        ).fetchall()
        orders = dict(
            con.execute(
                "select order_id, customer_key from marts.fct_orders "
                "where order_id in (select unnest(?))",
                [sorted(expected)],
            ).fetchall()
        )
    finally:
        con.close()
    assert leaks == {}
    assert profile == [(True,)]
    assert personal_data_in(serving_texts(settings), personal) == set()
    assert personal_data_in(report_texts(settings), personal) == set()
    # their paid orders of the window stay, under their pseudonymous key
    assert orders == dict.fromkeys(expected, key)


def test_rerunning_the_same_dates_leaves_the_marts_identical(simulated_run):
    settings, _, _ = simulated_run
    # every mart, dbt's and Python's (the forecast too)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    marts = [
        t
        for (t,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    con.close()
    assert {"fct_orders", "mart_demand_forecast", "fct_attribution"} <= set(marts)
    before = {t: mart_digest(settings.warehouse, t) for t in marts}
    report_before = (settings.reports / END.isoformat() / "evaluation.json").read_bytes()
    ok, reasons = execute("daily_pipeline", START, END, settings)
    assert ok, reasons
    after = {t: mart_digest(settings.warehouse, t) for t in marts}
    assert before == after
    assert (settings.reports / END.isoformat() / "evaluation.json").read_bytes() == report_before


def test_serving_copy_holds_the_marts_only(simulated_run):
    settings, _, _ = simulated_run
    con = duckdb.connect(str(settings.serving), read_only=True)
    schemas = {
        s for (s,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()
    }
    count = con.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    con.close()
    assert schemas == {"marts"}
    assert count > 0


# ---------------------------------------------------------------------------------------------
# Engine parity: the same dates through `growth run` on Spark (GROWTH_DBT_TARGET=spark), over
# the same landing zone and raw lake, must build the same marts and write the same reports.


def test_spark_keeps_its_metastore_and_tables_under_the_home(spark_run):
    from orchestration.settings import DBT_PROJECT_DIR, PROJECT_ROOT

    _, spark = spark_run
    assert (spark.spark / "metastore_db").is_dir()
    assert (spark.spark / "warehouse" / "marts.db").is_dir()
    for folder in {Path.cwd(), PROJECT_ROOT, DBT_PROJECT_DIR}:
        assert not [
            p for p in ("metastore_db", "spark-warehouse", "derby.log") if (folder / p).exists()
        ]


def mart_primary_keys() -> dict[str, list[str]]:
    """Each mart's key: as dbt derives it from its tests and constraints (the manifest), and
    as a Python mart's contract declares it (assets/<domain>/marts.yml)."""
    from orchestration.lib.dbt_project import growth_dbt_project
    from orchestration.lib.python_marts import all_contracts

    nodes = json.loads(growth_dbt_project.manifest_path.read_text())["nodes"].values()
    keys = {
        n["alias"]: n.get("primary_key") or []
        for n in nodes
        if n["resource_type"] == "model" and n["schema"] == "marts"
    }
    keys.update({name: list(c.primary_key) for name, c in all_contracts().items()})
    return keys


def test_spark_builds_the_same_marts_as_duckdb(spark_run):
    """Every relation of the `marts` schema, listed (a new mart joins without editing this):
    same columns and types, same row count, same keys, every value equal (money to the cent),
    floating-point rates within 1e-9."""
    from orchestration.lib.marts import mount_spark_marts

    duck, spark = spark_run
    con = duckdb.connect()
    try:
        con.execute(f"attach '{duck.warehouse}' as duck (read_only)")
        spark_marts = set(mount_spark_marts(con, spark, schema="spark"))
        duck_marts = {
            t
            for (t,) in con.execute(
                "select table_name from duckdb_tables() where database_name = 'duck' "
                "and schema_name = 'marts'"
            ).fetchall()
        }
        assert duck_marts == spark_marts
        assert {"fct_orders", "dim_products"} <= duck_marts
        keys = mart_primary_keys()
        differences: dict[str, object] = {}
        for mart in sorted(duck_marts):
            left, right = f'duck.marts."{mart}"', f'spark."{mart}"'
            types = {
                side: {c: str(t) for c, t, *_ in con.execute(f"describe {rel}").fetchall()}
                for side, rel in (("duckdb", left), ("spark", right))
            }
            if types["duckdb"] != types["spark"]:
                differences[mart] = types
                continue
            counts = [
                con.execute(f"select count(*) from {r}").fetchall()[0][0] for r in (left, right)
            ]
            if counts[0] != counts[1]:
                differences[mart] = {"rows": counts}
                continue
            assert counts[0] > 0, mart
            key = keys.get(mart) or []
            assert key, f"{mart} declares no primary key (a unique test or constraint)"
            on = " and ".join(f'd."{k}" = s."{k}"' for k in key)
            unmatched = con.execute(
                f"select count(*) from {left} d full join {right} s on {on} "
                f'where d."{key[0]}" is null or s."{key[0]}" is null'
            ).fetchall()[0][0]
            if unmatched:
                differences[mart] = {"keys only on one engine": unmatched}
                continue
            checks = []
            for column, kind in types["duckdb"].items():
                d, s = f'd."{column}"', f's."{column}"'
                if kind in ("DOUBLE", "FLOAT", "REAL"):
                    same = (
                        f"(({d} is null) = ({s} is null) and coalesce(abs({d} - {s}), 0) <= 1e-9)"
                    )
                else:
                    same = f"{d} is not distinct from {s}"
                checks.append(f'count(*) filter (where not ({same})) as "{column}"')
            row = con.execute(
                f"select {', '.join(checks)} from {left} d join {right} s on {on}"
            ).fetchone()
            columns = [c for c, n in zip(types["duckdb"], row, strict=True) if n]
            if columns:
                differences[mart] = {"columns that differ": columns}
    finally:
        con.close()
    assert differences == {}


def test_spark_run_writes_the_same_reports_and_serving_copy(spark_run, tmp_path):
    """The Spark run reported every date at its end; the DuckDB run reported the dates before
    END in its backfill, before END's folder restated their refunds (and a test that re-runs
    the range on the DuckDB home may or may not have refreshed them, by the order tests run
    in). So each Spark report is compared with the report of the DuckDB marts as they stand,
    and END's, which both runs wrote last, file against file."""
    duck, spark = spark_run
    dates = sorted(p.name for p in duck.reports.iterdir() if (p / "evaluation.json").exists())
    assert len(dates) == DAYS
    with open_marts(duck) as con:
        for date in dates:
            data = build_report_data(con, dt.date.fromisoformat(date))
            _, duck_now = write_report(data, tmp_path / "duckdb-reports")
            expected = json.loads(duck_now.read_text())
            assert json.loads((spark.reports / date / "evaluation.json").read_text()) == expected
    last = f"{END.isoformat()}/evaluation.json"
    assert json.loads((spark.reports / last).read_text()) == json.loads(
        (duck.reports / last).read_text()
    )
    counts = {}
    for settings in (duck, spark):
        con = duckdb.connect(str(settings.serving), read_only=True)
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()]
        counts[settings.serving] = {
            t: con.execute(f'select count(*) from marts."{t}"').fetchall()[0][0] for t in tables
        }
        con.close()
    assert counts[duck.serving] == counts[spark.serving] != {}
