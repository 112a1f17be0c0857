{%- set turnover_window_days = inventory_windows()['turnover_days'] -%}
{{ config(**incremental_by_date('date_day', hold_back=true)) }}
-- depends_on: {{ ref('int_rebuilt_dates') }}

with

thresholds as (

    select
        max(case when threshold = 'stockout_risk_lead_time_factor' then value end)
            as lead_time_factor,
        max(case when threshold = 'lead_time_lookback_days' then value end) as lookback_days
    from {{ ref('supply_thresholds') }}

),

inventory as (

    -- SKUs that sell (a days of supply) and were launched
    select
        inventory.date_day,
        inventory.sku_id,
        inventory.supplier_id,
        inventory.available,
        inventory.days_of_supply,
        inventory.is_stockout,
        thresholds.lookback_days
    from {{ ref('mart_inventory_daily') }} as inventory
    cross join thresholds
    where inventory.days_of_supply is not null

),

{% if is_daily_run() %}
targets as (

    -- the dates mart_inventory_daily rebuilt, and those whose lead-time lookback holds a
    -- purchase order the run restates
    select * from inventory
    where date_day in {{ rebuilt_dates_with_window(['inventory', 'orders'], 'inventory', 'date_day', turnover_window_days) }}
        or date_day in {{ rebuilt_dates_with_window(['purchase_orders'], 'inventory', 'date_day', 'dated.lookback_days') }}

),
{% else %}
targets as (

    select * from inventory

),
{% endif %}

purchase_orders as (

    select
        supplier_id,
        status,
        cast(ordered_at as date) as ordered_date,
        cast(received_at as date) as received_date,
        {{ seconds_between('ordered_at', 'received_at') }} as lead_time_seconds,
        {{ days_between('cast(ordered_at as date)', 'promised_date') }} as quoted_lead_time_days
    from {{ ref('stg_purchase_orders__purchase_orders') }}
    where status != 'cancelled'

),

supplier_days as (

    select distinct date_day, supplier_id, lookback_days from targets

),

lead_times as (

    -- a supplier's lead time as known on a date: the mean over its purchase orders received
    -- in the lookback up to that date; when none was, the lead time it quoted (promised date
    -- - order date) on the orders placed in the lookback. Means of exact integer sums, so
    -- every run and engine gets the same bits.
    select
        supplier_days.date_day,
        supplier_days.supplier_id,
        cast(sum(case
            when purchase_orders.status = 'received'
                and purchase_orders.received_date
                between {{ add_days('supplier_days.date_day', '1 - supplier_days.lookback_days') }}
                and supplier_days.date_day
                then purchase_orders.lead_time_seconds
        end) as double) / 86400 / nullif(count(case
            when purchase_orders.status = 'received'
                and purchase_orders.received_date
                between {{ add_days('supplier_days.date_day', '1 - supplier_days.lookback_days') }}
                and supplier_days.date_day
                then 1
        end), 0) as observed_lead_time_days,
        cast(sum(case
            when purchase_orders.ordered_date
                between {{ add_days('supplier_days.date_day', '1 - supplier_days.lookback_days') }}
                and supplier_days.date_day
                then purchase_orders.quoted_lead_time_days
        end) as double) / nullif(count(case
            when purchase_orders.ordered_date
                between {{ add_days('supplier_days.date_day', '1 - supplier_days.lookback_days') }}
                and supplier_days.date_day
                then 1
        end), 0) as quoted_lead_time_days
    from supplier_days
    inner join purchase_orders
        on supplier_days.supplier_id = purchase_orders.supplier_id
        and purchase_orders.ordered_date <= supplier_days.date_day
        and (
            purchase_orders.received_date >= {{ add_days('supplier_days.date_day', '1 - supplier_days.lookback_days') }}
            or purchase_orders.ordered_date >= {{ add_days('supplier_days.date_day', '1 - supplier_days.lookback_days') }}
        )
    group by supplier_days.date_day, supplier_days.supplier_id

),

suppliers as (

    select supplier_id, supplier_name from {{ ref('stg_suppliers__suppliers') }}

),

final as (

    select
        ----------  ids
        {{ surrogate_key(['targets.date_day', 'targets.sku_id']) }} as stockout_risk_id,
        targets.date_day,
        targets.sku_id,
        targets.supplier_id,
        suppliers.supplier_name,

        ----------  stock against lead time
        cast(targets.available as bigint) as available,
        targets.days_of_supply,
        coalesce(lead_times.observed_lead_time_days, lead_times.quoted_lead_time_days)
            as lead_time_days,
        case
            when lead_times.observed_lead_time_days is not null then 'observed'
            else 'quoted'
        end as lead_time_basis,
        coalesce(lead_times.observed_lead_time_days, lead_times.quoted_lead_time_days)
        - targets.days_of_supply as gap_days,
        targets.is_stockout

    from targets
    inner join lead_times
        on targets.date_day = lead_times.date_day and targets.supplier_id = lead_times.supplier_id
    cross join thresholds
    left join suppliers on targets.supplier_id = suppliers.supplier_id
    where
        {{ not_held_back('targets.date_day') }}
        and targets.days_of_supply
        < coalesce(lead_times.observed_lead_time_days, lead_times.quoted_lead_time_days)
        * thresholds.lead_time_factor

)

select * from final
