"""Plants each bug of issue 15's "tests that can fail" in the work tree, one at a time, runs the
tests meant to catch it, and restores the file: every planted bug must make them fail.

    .venv/bin/python scripts/plant_bugs.py            # every bug (about 20 minutes)
    .venv/bin/python scripts/plant_bugs.py first_order_rule_reversed

Not part of `make test` (it runs the slow end-to-end tests once per bug); run it after changing
a rule or the tests that pin it. Refuses to start on a file with uncommitted changes, so a
crash can never leave a bug behind that `git checkout` would not undo.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT = "tests/dbt/test_unit_tests.py"
STAGING = "tests/dbt/test_staging_latest_version.py"
E2E = "tests/pipeline/test_end_to_end.py"
PIPELINE = "tests/pipeline"

FORECASTER = "tests/supply/test_forecaster.py"
SUPPLY = "tests/supply/test_supply_marts.py"
CONTENT_CRM = "tests/pipeline/test_content_crm.py"
MARKOV = "tests/traffic/test_markov.py"
SEED_LOADS = "tests/test_seed_loads.py"


@dataclass(frozen=True)
class Bug:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


BUGS = (
    Bug(
        "a_night_of_means_warms_up_statsforecast",
        "assets/supply/definitions.py",
        "warm_up_seconds = warm_up() if modelled else 0.0",
        "warm_up_seconds = warm_up()",
        ("tests/supply/test_demand_forecast_asset.py",),
    ),
    Bug(
        "a_row_count_judged_without_its_strict_bounds",
        "orchestration/lib/gx_checks.py",
        'ROW_COUNT_BOUNDS = ("min_value", "max_value", "strict_min", "strict_max")',
        'ROW_COUNT_BOUNDS = ("min_value", "max_value")',
        ("tests/test_gx_checks.py",),
    ),
    Bug(
        "rows_read_counted_by_the_reader",
        "assets/ingest/loader/load.py",
        "result.rows_read = scan.records if scan is not None else accepted + len(rejected)",
        "result.rows_read = accepted + len(rejected)",
        ("tests/ingest/test_hardening.py",),
    ),
    Bug(
        "first_order_rule_reversed",
        "dbt_project/models/intermediate/orders/int_customer_first_orders.sql",
        "partition by customer_key order by paid_at, order_id",
        "partition by customer_key order by paid_at desc, order_id",
        (UNIT,),
    ),
    Bug(
        "first_order_tie_not_broken_by_order_id",
        "dbt_project/models/intermediate/orders/int_customer_first_orders.sql",
        "partition by customer_key order by paid_at, order_id",
        "partition by customer_key order by paid_at, order_id desc",
        (UNIT,),
    ),
    Bug(
        "guests_get_first_orders",
        "dbt_project/models/marts/customers/fct_orders.sql",
        "coalesce(orders.order_id = first_orders.first_order_id, false)",
        "coalesce(orders.order_id = first_orders.first_order_id, orders.customer_key is null)",
        (UNIT,),
    ),
    Bug(
        "late_first_order_leaves_the_old_flag",
        "dbt_project/models/intermediate/runs/int_rebuilt_dates.sql",
        """where _business_date < cast('{{ var("start_date") }}' as date)""",
        "where true",
        (UNIT,),
    ),
    Bug(
        "owned_store_orders_ignore_their_last_touch",
        "dbt_project/models/intermediate/orders/int_orders_classified.sql",
        "grouped_sources('orders', store='store', utm_source='utm_source',",
        "grouped_sources('orders', store='store', utm_source='null',",
        (UNIT,),
    ),
    Bug(
        "sessions_never_time_out",
        "dbt_project/models/intermediate/traffic/int_sessions.sql",
        "                > {{ var('session_timeout_minutes') }} * 60 then 1",
        "                > {{ var('session_timeout_minutes') }} * 600 then 1",
        (UNIT,),
    ),
    Bug(
        "a_direct_hit_starts_a_session",
        "dbt_project/models/intermediate/traffic/int_sessions.sql",
        "            when campaign_key is not null\n                and campaign_key <>",
        "            when coalesce(campaign_key, '') <>",
        (UNIT,),
    ),
    Bug(
        "two_hits_of_a_device_are_two_sessions",
        "dbt_project/models/intermediate/traffic/int_sessions.sql",
        "    having count(*) > 1",
        "    having count(*) > 2",
        (UNIT,),
    ),
    Bug(
        "a_device_belongs_to_its_last_login",
        "dbt_project/models/intermediate/traffic/int_devices_stitched.sql",
        "partition by anonymous_id order by first_login_at, customer_key",
        "partition by anonymous_id order by first_login_at desc, customer_key",
        (UNIT,),
    ),
    Bug(
        "lookback_a_day_too_long",
        "dbt_project/models/intermediate/traffic/int_order_touches.sql",
        "interval {{ var('attribution_lookback_days') }} day\n\n    union",
        "interval {{ var('attribution_lookback_days') + 1 }} day\n\n    union",
        (UNIT,),
    ),
    Bug(
        "position_based_middle_gets_a_fifth_each",
        "dbt_project/models/marts/traffic/fct_attribution.sql",
        "                / (touches - 2)",
        "                / 1",
        (UNIT,),
    ),
    Bug(
        "time_decay_by_days_not_half_lives",
        "dbt_project/models/marts/traffic/fct_attribution.sql",
        "/ ({{ var('attribution_half_life_days') }} * 86400.0)",
        "/ 86400.0",
        (UNIT,),
    ),
    Bug(
        "visitors_counted_by_session_not_by_hit",
        "dbt_project/models/intermediate/traffic/int_visitors_daily.sql",
        "    where repeat_device_sessions.is_touch and repeat_device_sessions.direct_hits > 0",
        "    where false",
        (
            f"{PIPELINE}/test_growth_marts.py::test_spend_by_channel_and_visitors_by_traffic_class_are_the_true_ones",
            f"{PIPELINE}/test_growth_marts.py::test_visitors_counted_from_the_sessions_are_the_devices_of_each_channels_hits",
        ),
    ),
    Bug(
        "a_device_of_one_long_session_is_not_counted",
        "dbt_project/models/intermediate/traffic/int_visitors_daily.sql",
        "    where events > 1 or session_number > 1",
        "    where session_number > 1",
        (
            f"{PIPELINE}/test_growth_marts.py::test_spend_by_channel_and_visitors_by_traffic_class_are_the_true_ones",
        ),
    ),
    Bug(
        "shipments_oldest_version_wins",
        "dbt_project/models/staging/shipments/stg_shipments__shipments.sql",
        "order_by='updated_at desc, _business_date desc, _line desc'",
        "order_by='updated_at asc, _business_date asc, _line desc'",
        (STAGING,),
    ),
    Bug(
        "purchase_orders_oldest_version_wins",
        "dbt_project/models/staging/purchase_orders/stg_purchase_orders__purchase_orders.sql",
        "order_by='updated_at desc, _business_date desc, _line desc'",
        "order_by='updated_at asc, _business_date asc, _line desc'",
        (STAGING,),
    ),
    Bug(
        "touches_latest_folder_wins",
        "dbt_project/models/staging/crm_touches/stg_crm_touches__touches.sql",
        "order_by='clicked_at desc nulls last, opened_at desc nulls last, delivered desc nulls "
        "last, _business_date desc, _line desc'",
        "order_by='_business_date desc, _line desc'",
        (STAGING,),
    ),
    Bug(
        "customers_oldest_version_wins",
        "dbt_project/models/staging/customers/stg_customers__customers.sql",
        "order by updated_at desc, _business_date desc, _line desc",
        "order by updated_at asc, _business_date asc, _line desc",
        (STAGING,),
    ),
    Bug(
        "erasure_leaves_older_versions_unpurged",
        "assets/ingest/loader/erasure.py",
        'f"case when {_q(erasure.key)} in {erased} then null else {_q(c)} end as {_q(c)}"',
        'f"{_q(c)} as {_q(c)}"',
        (f"{E2E}::test_an_erased_customer_leaves_no_personal_data_but_keeps_their_orders",),
    ),
    Bug(
        "customer_ids_reach_the_marts_unhashed",
        "assets/ingest/loader/sql.py",
        "expr = _hmac_sql(value_of[spec.keys[name]])",
        "expr = value_of[spec.keys[name]]",
        (f"{E2E}::test_no_personal_data_in_marts_or_reports",),
    ),
    Bug(
        "po_received_on_the_promised_day_counted_late",
        "dbt_project/models/marts/supply/mart_supplier_performance.sql",
        "cast(received_at as date) <= promised_date as is_on_time",
        "cast(received_at as date) < promised_date as is_on_time",
        (UNIT,),
    ),
    Bug(
        "response_p90_by_nearest_rank",
        "dbt_project/macros/cross_db.sql",
        "    quantile_cont({{ value }}, {{ fraction }})",
        "    quantile_disc({{ value }}, {{ fraction }})",
        (UNIT,),
    ),
    Bug(
        "days_of_supply_over_29_days",
        "dbt_project/models/marts/supply/mart_inventory_daily.sql",
        "when history.date_day >= {{ add_days('rebuilt.date_day', 1 - sales_window_days) }}\n"
        "                then history.units_sold",
        "when history.date_day >= {{ add_days('rebuilt.date_day', - sales_window_days) }}\n"
        "                then history.units_sold",
        (UNIT,),
    ),
    Bug(
        "restated_stock_leaves_later_windows_stale",
        "dbt_project/models/marts/supply/mart_inventory_daily.sql",
        "{{ rebuilt_dates_with_window(['inventory', 'orders'], 'daily', 'date_day', "
        "turnover_window_days) }}",
        "{{ rebuilt_dates(['inventory', 'orders']) }}",
        (UNIT,),
    ),
    Bug(
        "stock_out_counted_on_hand_not_available",
        "dbt_project/models/marts/supply/mart_inventory_daily.sql",
        "sum(case when stock_levels.available <= thresholds.stockout_max_available",
        "sum(case when stock_levels.on_hand < thresholds.stockout_max_available",
        (SUPPLY,),
    ),
    Bug(
        "every_sku_forecast_by_croston",
        "assets/supply/forecast.py",
        "return CROSTON if self.intermittent else ETS",
        "return CROSTON",
        (FORECASTER,),
    ),
    Bug(
        "backtest_keeps_a_form_chosen_on_its_test_days",
        "assets/supply/forecast.py",
        "and choice.backtest_trained_to <= backtest_trained_to(s, forecast_date)",
        "and choice.backtest_trained_to <= dt.date.max",
        (FORECASTER,),
    ),
    Bug(
        "kept_forms_never_chosen_again",
        "assets/supply/forecast.py",
        "if not 0 <= age < days:\n            continue\n"
        "        # the SKU's day came since the form was chosen (on it, or on a night the run "
        "skipped)\n        due = any(",
        "if not 0 <= age:\n            continue\n        due = False and any(",
        (FORECASTER,),
    ),
    Bug(
        "a_form_kept_past_its_skus_day",
        "assets/supply/forecast.py",
        "if not due and choice.backtest_trained_to",
        "if choice.backtest_trained_to",
        (FORECASTER,),
    ),
    Bug(
        "every_sku_chooses_on_the_same_day",
        "assets/supply/forecast.py",
        "return (date.toordinal() - digest) % days == 0",
        "return date.toordinal() % days == 0",
        (FORECASTER,),
    ),
    Bug(
        "a_ranges_last_date_figures_on_every_partition",
        "assets/ingest/definitions.py",
        "_day_metadata(day), partition_key",
        "_day_metadata(days[-1]), partition_key",
        (E2E,),
    ),
    Bug(
        "throttle_from_the_6th_day",
        "dbt_project/models/marts/crm/mart_crm_fatigue.sql",
        "streaks.consecutive_days >= thresholds.throttle_days as throttle",
        "streaks.consecutive_days >= thresholds.throttle_days - 1 as throttle",
        (UNIT, CONTENT_CRM),
    ),
    Bug(
        "a_gap_does_not_reset_the_streak",
        "dbt_project/models/marts/crm/mart_crm_fatigue.sql",
        "row_number() over (partition by customer_key, island order by date_day)",
        "row_number() over (partition by customer_key order by date_day)",
        (UNIT,),
    ),
    Bug(
        "conversion_window_end_inclusive",
        "dbt_project/models/marts/crm/mart_crm_chain_daily.sql",
        "< thresholds.window_days * 86400",
        "<= thresholds.window_days * 86400",
        (UNIT,),
    ),
    Bug(
        "koc_tier_threshold_exclusive",
        "dbt_project/models/marts/content/mart_koc_scorecard.sql",
        "on followed.followers >= tiers.min_followers",
        "on followed.followers > tiers.min_followers",
        (UNIT,),
    ),
    Bug(
        "koc_gmv_from_the_linear_model",
        "dbt_project/models/marts/content/mart_koc_scorecard.sql",
        "where model = 'last_touch' and koc_id is not null",
        "where model = 'linear' and koc_id is not null",
        (CONTENT_CRM,),
    ),
    Bug(
        "a_removed_channel_keeps_its_own_conversions",
        "assets/traffic/markov.py",
        "            b[removed] = 0.0\n",
        "",
        (MARKOV,),
    ),
    Bug(
        "non_converting_journeys_lost",
        "dbt_project/models/intermediate/traffic/int_journeys.sql",
        "where in_paths.session_key is null",
        "where in_paths.session_key is not null",
        (f"{PIPELINE}/test_attribution_data_driven.py",),
    ),
    Bug(
        "two_touches_of_a_device_are_two_one_step_journeys",
        "dbt_project/models/intermediate/traffic/int_journeys.sql",
        "    having count(*) > 1",
        "    having count(*) > 2",
        (f"{PIPELINE}/test_attribution_data_driven.py",),
    ),
    Bug(
        "a_late_touch_does_not_restate_the_paths_after_it",
        "dbt_project/macros/rebuilt_dates.sql",
        "            or {{ column }} >= cast('{{ event_dates[0] }}' as date)\n",
        "",
        ("tests/dbt/test_order_path_dates.py",),
    ),
    Bug(
        "the_serving_copy_inserts_every_row_of_a_changed_mart",
        "assets/serving/publish.py",
        'select * from {relation} where {where}")',
        'select * from {relation}")',
        ("tests/test_serving_publish.py",),
    ),
    Bug(
        "a_backfilled_table_is_written_again_in_no_order",
        "orchestration/lib/clustering.py",
        'select * from {relation} order by {quoted(column)}"',
        'select * from {relation}"',
        ("tests/test_clustering.py",),
    ),
    Bug(
        "a_young_table_counts_as_scattered",
        "orchestration/lib/clustering.py",
        "and self.range_days >= MIN_RANGE_DAYS",
        "and self.range_days >= 0",
        ("tests/test_clustering.py",),
    ),
    Bug(
        "a_days_second_order_counts_as_its_next_paid_day",
        "dbt_project/models/marts/customers/mart_repurchase_daily.sql",
        "max(case when next_order_day <> date_day then next_order_day end) as next_day",
        "max(next_order_day) as next_day",
        (UNIT,),
    ),
    Bug(
        "clv_monetary_value_leaves_out_the_last_purchase_not_the_first",
        "assets/customers/clv.py",
        "then cast(sum(amount) - arg_min(amount, purchase_day) as double)",
        "then cast(sum(amount) - arg_max(amount, purchase_day) as double)",
        ("tests/customers/test_clv.py", "tests/customers/test_ltv.py"),
    ),
    Bug(
        "a_source_is_matched_to_its_grouping_without_its_utm_medium",
        "dbt_project/macros/channel_grouping.sql",
        "        and {{ grouping }}.utm_medium is not distinct from {{ utm_medium }}\n",
        "",
        ("tests/pipeline/test_growth_marts.py",),
    ),
    Bug(
        "a_device_day_is_one_session_though_its_first_hit_is_direct_before_a_campaign",
        "dbt_project/models/intermediate/traffic/int_sessions.sql",
        "                and first_hit.campaign_key is not null\n",
        "",
        (UNIT,),
    ),
    Bug(
        "a_devices_later_touches_of_a_day_are_journeys_of_their_own",
        "dbt_project/models/intermediate/traffic/int_journeys.sql",
        "    where session_number > 1\n",
        "    where false\n",
        (
            f"{PIPELINE}/test_attribution_data_driven.py::test_journeys_hold_every_touch_once_in_time_order",
        ),
    ),
    Bug(
        "a_seed_whose_test_failed_is_left_out_of_later_builds",
        "orchestration/lib/seed_loads.py",
        "all(status.get(t) in PASSED for t in tests)",
        "any(status.get(t) in PASSED for t in tests)",
        (SEED_LOADS,),
    ),
    Bug(
        "an_edited_seed_file_goes_unnoticed",
        "orchestration/lib/seed_loads.py",
        'files = [node["original_file_path"], "dbt_project.yml"]',
        'files = ["dbt_project.yml"]',
        (SEED_LOADS,),
    ),
    Bug(
        "a_dropped_seed_table_is_not_loaded_again",
        "orchestration/lib/seed_loads.py",
        'and (node["schema"], node["alias"]) in tables',
        "and True",
        (SEED_LOADS,),
    ),
    Bug(
        "a_seed_table_loaded_by_hand_is_trusted",
        "orchestration/lib/seed_loads.py",
        "            and contents == _table_contents(con, node)\n",
        "",
        (SEED_LOADS,),
    ),
    Bug(
        "a_seed_picked_by_hand_is_left_out",
        "assets/dbt/definitions.py",
        "whole = set(context.selected_asset_keys) >= set(growth_dbt_models.keys)",
        "whole = True",
        ("tests/pipeline/test_nightly_dbt_tests.py",),
    ),
    Bug(
        "the_nightly_build_loads_every_seed_again",
        "assets/dbt/definitions.py",
        "unchanged = unchanged_seeds(con, nodes, project_dir) if nodes else {}",
        "unchanged = {}",
        ("tests/pipeline/test_nightly_dbt_tests.py",),
    ),
    Bug(
        "a_journey_of_one_touch_never_ends",
        "dbt_project/models/intermediate/traffic/int_journey_transitions_daily.sql",
        "    where step_number >= steps\n",
        "    where step_number >= steps and steps > 1\n",
        (UNIT,),
    ),
    Bug(
        "a_device_days_first_hit_is_its_last",
        "dbt_project/macros/cross_db.sql",
        "{% macro default__first_row_of(columns, order_by) -%}\n    arg_min(",
        "{% macro default__first_row_of(columns, order_by) -%}\n    arg_max(",
        (UNIT,),
    ),
)


def plant(bug: Bug) -> bool:
    """True when the planted bug made its tests fail."""
    path = ROOT / bug.file
    text = path.read_text()
    if text.count(bug.old) != 1:
        raise SystemExit(f"{bug.name}: the code to break is no longer in {bug.file}; update me")
    started = time.monotonic()
    path.write_text(text.replace(bug.old, bug.new))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *bug.tests],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        path.write_text(text)
    caught = result.returncode == 1
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    verdict = "caught" if caught else "MISSED"
    print(f"{verdict:7} {bug.name:45} {time.monotonic() - started:6.0f}s  {summary}", flush=True)
    return caught


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bugs", nargs="*", help="names of bugs to plant (default: all)")
    chosen = parser.parse_args().bugs
    unknown = set(chosen) - {b.name for b in BUGS}
    if unknown:
        raise SystemExit(f"unknown bugs: {', '.join(sorted(unknown))}")
    bugs = [b for b in BUGS if not chosen or b.name in chosen]
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", *sorted({b.file for b in bugs})],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if dirty:
        raise SystemExit(f"commit or stash these first:\n{dirty}")
    missed = [b.name for b in bugs if not plant(b)]
    if missed:
        raise SystemExit(f"{len(missed)} planted bug(s) passed the tests: {', '.join(missed)}")
    print(f"all {len(bugs)} planted bugs were caught")


if __name__ == "__main__":
    main()
