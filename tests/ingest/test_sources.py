"""Every source of sources.md lands through the one loader: hand-made day folders in the exact
shape of the contract, typed and converted, personal data never in clear, erasure honoured."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.ingest.loader import (
    ERASED_RECORD,
    DayResult,
    load_day,
    load_source_specs,
)
from orchestration.lib.gx_checks import evaluate_suite, load_suite_document
from tests.ingest.lake import data_files, text_columns
from tests.landing import (
    customer,
    event,
    juguang_row,
    order,
    qianchuan_row,
    tencent_row,
    write_ads,
    write_all_sources,
    write_jsonl_file,
    write_listening,
    write_orders,
)

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)
KEY = b"unit-test-key"
SPECS = load_source_specs()
PHONES = ("13800138000", "13900139000", "13700137000")
UNIONIDS = ("oUnion-0001", "oUnion-0002", "oUnion-0003")


def load(con: duckdb.DuckDBPyConnection, landing: Path, source: str, day: dt.date) -> DayResult:
    result = load_day(con, SPECS[source], landing, day, KEY, log_fn=lambda _: None)
    for file in result.files:
        assert file.reconciles(), file
    return result


def table(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def hashed(value: str) -> str:
    return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()


def test_all_sixteen_sources_are_declared():
    assert sorted(SPECS) == sorted(
        [
            "ads",
            "events",
            "content",
            "koc",
            "listening",
            "customers",
            "crm_touches",
            "referrals",
            "loyalty",
            "surveys",
            "orders",
            "products",
            "inventory",
            "purchase_orders",
            "shipments",
            "suppliers",
        ]
    )
    for spec in SPECS.values():
        assert spec.gx_suite == f"raw_{spec.table}"


@pytest.mark.parametrize("source", sorted(SPECS))
def test_a_day_in_the_contract_shape_loads_typed_and_passes_its_gate(con, landing, source):
    write_all_sources(landing, D1)
    result = load(con, landing, source, D1)
    spec = SPECS[source]
    assert result.rows_loaded >= 1 and result.rows_quarantined == 0
    assert [f.status for f in result.files] == ["loaded"] * len(result.files)
    assert result.drift == []
    types = dict(
        table(
            con,
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = 'raw' and table_name = '{spec.table}'",
        )
    )
    assert {n: types[n] for n in spec.columns()} == spec.columns()
    assert table(con, "select count(*) from audit.quarantine") == [(0,)]
    # The great-expectations suite of the source only names existing columns and passes.
    document = load_suite_document(spec.gx_suite)
    (outcome,) = evaluate_suite(
        con, document, f"raw.{spec.table}", "_business_date", [D1.isoformat()], spec.name
    )
    assert outcome.success, outcome.failures


def test_three_ad_platforms_land_in_one_table_in_yuan(con, landing):
    write_ads(
        landing,
        D1,
        qianchuan=[qianchuan_row(D1, **{"消耗(元)": "1234.56", "直接成交金额(元)": "2999.00"})],
        juguang=[juguang_row(D1, spend_yuan="88.80")],
        tencent=[tencent_row(D1, **{"花费(分)": "12345"}), tencent_row(D1, "87654321")],
    )
    result = load(con, landing, "ads", D1)
    assert [f.file.rsplit("/", 1)[1] for f in result.files] == [
        "qianchuan.csv",
        "juguang.csv",
        "tencent_ads.csv",
    ]
    rows = table(
        con,
        "select platform, channel, campaign_id, campaign_name, impressions, clicks, spend, "
        "platform_orders, platform_gmv, engagements, note_id, date_day "
        "from raw.ad_platform_daily order by platform, campaign_id",
    )
    assert rows == [
        ("juguang", "xiaohongshu", "jg1000000001", "聚光-拉新-01", 5000, 65)
        + (Decimal("88.80"), None, None, 120, "N1", D1),
        # Qianchuan: UTF-8 with BOM and Chinese headers, mapped by name
        ("qianchuan", "douyin", "1700000000000001", "千川-新品种草-01", 10000, 160)
        + (Decimal("1234.56"), 4, Decimal("2999.00"), None, None, D1),
        # Tencent: GBK decoded, fen converted to yuan
        ("tencent_ads", "wechat", "12345678", "腾讯-品牌曝光-01", 8000, 72)
        + (Decimal("123.45"), None, None, None, None, D1),
        ("tencent_ads", "wechat", "87654321", "腾讯-品牌曝光-01", 8000, 72)
        + (Decimal("208.50"), None, None, None, None, D1),
    ]
    raw_tables = table(
        con, "select table_name from information_schema.tables where table_schema = 'raw'"
    )
    assert raw_tables == [("ad_platform_daily",)]


def test_the_tencent_file_is_really_gbk_and_the_qianchuan_file_has_a_bom(landing):
    folder = write_ads(landing, D1)
    assert (folder / "qianchuan.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    tencent = (folder / "tencent_ads.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        tencent.decode("utf-8")
    assert tencent.decode("gbk").startswith("日期,广告ID")


def test_listening_reports_land_in_one_table_told_apart(con, landing):
    write_listening(landing, D1)
    result = load(con, landing, "listening", D1)
    assert result.rows_loaded == 3
    assert table(
        con,
        "select report, brand, mentions, search_index, keyword, co_mentions "
        "from raw.social_listening order by report, brand",
    ) == [
        ("brand_mentions", "aurelia", 1200, 356.5, None, None),
        ("brand_mentions", "lumina", 1200, 356.5, None, None),
        ("keyword_associations", "lumina", None, None, "温和", 88),
    ]


def test_events_split_into_gzip_parts_all_load(con, landing):
    write_jsonl_file(
        landing, "events", D1, "events-0001.jsonl.gz", [event("e1", D1), event("e2", D1)]
    )
    write_jsonl_file(
        landing,
        "events",
        D1,
        "events-0002.jsonl.gz",
        [event("e3", D1, "purchase", order_id="o1", referrer_customer_id="C7")],
    )
    result = load(con, landing, "events", D1)
    assert len(result.files) == 2 and result.rows_loaded == 3
    rows = table(
        con,
        "select event_id, event_time, customer_key, referrer_customer_key "
        "from raw.events order by 1",
    )
    # ISO times with offset are kept as naive Asia/Shanghai time
    assert rows[0][1] == dt.datetime(2026, 3, 1, 20, 15)
    assert rows[2][2:] == (hashed("C1"), hashed("C7"))


def test_csv_local_times_and_types_are_kept_as_written(con, landing):
    write_all_sources(landing, D1)
    for source in ("crm_touches", "surveys", "suppliers", "content"):
        load(con, landing, source, D1)
    assert table(con, "select sent_at, delivered, customer_key from raw.crm_touches") == [
        (dt.datetime(2026, 3, 1, 11, 0), 1, hashed("C1"))
    ]
    assert table(con, "select nps_score, rating_reputation from raw.survey_responses") == [
        (9, None)
    ]
    assert table(con, "select certified, payment_terms_days from raw.suppliers") == [(True, 60)]
    assert table(con, "select avg_watch_ratio, publish_time from raw.content_post_daily") == [
        (0.42, dt.datetime(2026, 2, 28, 19, 0))
    ]


def clear_values_found(path: Path, values: tuple[str, ...]) -> list[str]:
    """Every VARCHAR column of every table or view in the DuckDB file, and of every data file
    of its raw lake, that holds one of the values."""
    found = []
    connection = duckdb.connect(str(path), read_only=True)
    try:
        columns = connection.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        assert columns
        for schema, name, column in columns:
            for value in values:
                hits = connection.execute(
                    f'select count(*) from "{schema}"."{name}" where contains("{column}", ?)',
                    [value],
                ).fetchall()[0][0]
                if hits:
                    found.append(f"{schema}.{name}.{column}: {value}")
        # The raw lake's data files hold columns the raw views do not show (the invalid
        # records, their masked text): every text column of every file is searched too.
        files = data_files(connection)
        assert files
        for data_file in files:
            relation = f"read_parquet('{data_file}')"
            for column in text_columns(connection, data_file):
                for value in values:
                    hits = connection.execute(
                        f'select count(*) from {relation} where contains("{column}", ?)', [value]
                    ).fetchall()[0][0]
                    if hits:
                        found.append(f"{data_file.name}.{column}: {value}")
    finally:
        connection.close()
    return found


def test_phone_and_unionid_are_never_stored_in_clear(tmp_path, landing):
    records = [
        customer("C1", D1, phone=PHONES[0], unionid=UNIONIDS[0]),
        # quarantined (out of domain), its record is kept masked
        customer("C2", D1, phone=PHONES[1], unionid=UNIONIDS[1], member_tier="diamond"),
        # an unparseable line carrying a phone
        '{"customer_id": "C3", "phone": "' + PHONES[2] + '", broken',
        # an unknown extra field (drift)
        customer("C4", D1, wechat_openid="oOpen-1"),
    ]
    write_jsonl_file(landing, "customers", D1, "customers.jsonl", records)
    path = tmp_path / "w.duckdb"
    connection = duckdb.connect(str(path))
    result = load(connection, landing, "customers", D1)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    assert result.drift == ["wechat_openid"]
    assert table(
        connection, "select customer_id, phone_hash, wechat_unionid_hash from raw.customers"
    ) == [(c, hashed(PHONES[0]), hashed(UNIONIDS[0])) for c in ("C1", "C4")]
    # The loader's temp tables held clear values before hashing: none is left in the session.
    temp = "select table_name from information_schema.tables where table_catalog = 'temp'"
    assert table(connection, temp) == []
    connection.close()
    assert clear_values_found(path, PHONES + UNIONIDS) == []


def erasure_landing(landing: Path) -> None:
    write_jsonl_file(
        landing,
        "customers",
        D1,
        "customers.jsonl",
        [
            customer("C1", D1, phone=PHONES[0], unionid=UNIONIDS[0]),
            customer("C2", D1, phone=PHONES[1], unionid=UNIONIDS[1]),
            # quarantined record of C1: its personal data must go too once C1 is erased
            customer("C1", D1, hour=11, birth_year="nineteen-ninety"),
        ],
    )
    write_jsonl_file(
        landing,
        "customers",
        D2,
        "customers.jsonl",
        [customer("C1", D2, phone=PHONES[0], unionid=UNIONIDS[0], deleted=True)],
    )
    write_orders(
        landing,
        D1,
        [
            order("o1", D1, customer_id="C1"),
            order("o2", D1, customer_id="C2"),
            order("o3", D1, customer_id="C1", paid_amount="1,000"),  # quarantined
        ],
    )


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], ...]:
    return (
        table(con, "select * from raw.customers order by all"),
        table(con, "select * from raw.orders order by all"),
        table(con, "select * from audit.quarantine order by all"),
        table(con, "select * from audit.erasures order by all"),
    )


def test_erasure_purges_personal_data_everywhere_and_keeps_facts(con, landing):
    erasure_landing(landing)
    load(con, landing, "orders", D1)
    load(con, landing, "customers", D1)
    load(con, landing, "customers", D2)
    purged = ("phone_hash", "wechat_unionid_hash", "gender", "birth_year", "province", "city")
    rows = table(
        con,
        f"select customer_id, _business_date, {', '.join(purged)}, member_tier, deleted "
        "from raw.customers order by 1, 2",
    )
    assert rows == [
        ("C1", D1, None, None, None, None, None, None, "silver", False),
        ("C1", D2, None, None, None, None, None, None, "silver", True),
        ("C2", D1, hashed(PHONES[1]), hashed(UNIONIDS[1]), "female", 1994, "浙江", "杭州")
        + ("silver", False),
    ]
    # facts stay, under the pseudonymous key
    assert table(con, "select order_id, customer_key from raw.orders order by 1") == [
        ("o1", hashed("C1")),
        ("o2", hashed("C2")),
    ]
    # quarantined records of the erased customer are withheld, in every source
    quarantine = table(
        con, "select source, business_date, line, raw_record from audit.quarantine order by 1"
    )
    assert [(s, d, line) for s, d, line, _ in quarantine] == [
        ("customers", D1, 3),
        ("orders", D1, 3),
    ]
    assert all(r == ERASED_RECORD for *_, r in quarantine)
    assert table(con, "select source, erased_key, first_business_date from audit.erasures") == [
        ("customers", hashed("C1"), D2)
    ]
    # ... and in the data files behind the raw views, where invalid records are kept too
    files = [str(f) for f in data_files(con, "customers")]
    assert len(files) == 2  # the replaced versions were deleted
    assert table(
        con,
        f"select count(*) from read_parquet({files}) where customer_id = 'C1' "
        "and (phone_hash is not null or birth_year is not null or _quarantine_record is not null)",
    ) == [(0,)]


def test_erasure_is_idempotent_and_independent_of_load_order(tmp_path, landing):
    erasure_landing(landing)
    results = []
    for name, steps in (
        ("forward", [("orders", D1), ("customers", D1), ("customers", D2)]),
        # the erasure first, then older days loaded or re-run after it
        ("erasure_first", [("customers", D2), ("customers", D1), ("orders", D1)]),
    ):
        connection = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        for source, day in steps:
            load(connection, landing, source, day)
        first = snapshot(connection)
        for source, day in steps + steps:
            load(connection, landing, source, day)
        assert snapshot(connection) == first
        results.append(first)
        connection.close()
    assert results[0] == results[1]


def test_an_erasure_is_never_withdrawn_by_a_later_redrop(con, landing):
    erasure_landing(landing)
    load(con, landing, "customers", D1)
    load(con, landing, "customers", D2)
    # D2 is re-dropped without the deletion flag (an upstream glitch): the data stays erased
    write_jsonl_file(
        landing, "customers", D2, "customers.jsonl", [customer("C1", D2, phone=PHONES[0])]
    )
    load(con, landing, "customers", D2)
    assert table(
        con,
        "select count(*) from raw.customers where customer_id = 'C1' and phone_hash is not null",
    ) == [(0,)]
