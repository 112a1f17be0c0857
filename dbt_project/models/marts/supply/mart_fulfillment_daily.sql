{{ config(**incremental_by_date('date_day', hold_back=true)) }}
-- depends_on: {{ ref('int_rebuilt_dates') }}

with

shipments as (

    -- a daily run: the folders since its first rebuilt ship date (staged_for_run)
    {%- set since = first_rebuilt_date('shipments') %}
    select * from {{ staged_for_run('stg_shipments__shipments', since, shipments_as_landed) }} as shipments
    where shipped_at is not null

),

orders as (

    select order_id, paid_at from {{ ref('fct_orders') }}

),

shipped as (

    select
        cast(shipments.shipped_at as date) as date_day,
        shipments.warehouse_id,
        shipments.carrier,
        shipments.shipment_id,
        shipments.order_id,
        shipments.status,
        shipments.had_exception,
        -- paid -> shipped; null when the order's payment is not in fct_orders
        cast({{ seconds_between('orders.paid_at', 'shipments.shipped_at') }} as double) / 3600
            as response_hours,
        case
            when shipments.delivered_at is not null
                then cast({{ seconds_between('shipments.shipped_at', 'shipments.delivered_at') }} as double) / 3600
        end as delivery_hours,
        case
            when shipments.delivered_date is not null
                then shipments.delivered_date <= shipments.promised_delivery_date
        end as is_delivered_on_time
    from shipments
    left join orders on shipments.order_id = orders.order_id

),

final as (

    select
        ----------  ids
        {{ surrogate_key(['date_day', 'warehouse_id', 'carrier']) }} as fulfillment_day_id,
        date_day,
        warehouse_id,
        carrier,

        ----------  volumes
        cast(count(distinct order_id) as integer) as orders_shipped,
        cast(count(*) as integer) as shipments,

        ----------  response time: paid -> shipped (hours)
        {{ percentile_cont('response_hours', 0.5) }} as response_hours_median,
        {{ percentile_cont('response_hours', 0.9) }} as response_hours_p90,

        ----------  delivery: shipped -> delivered (hours), against the promised date
        {{ percentile_cont('delivery_hours', 0.5) }} as delivery_hours_median,
        cast(count(delivery_hours) as integer) as delivered,
        cast(sum(case when is_delivered_on_time then 1 else 0 end) as integer)
            as delivered_on_time,
        case
            when count(is_delivered_on_time) > 0
                then cast(sum(case when is_delivered_on_time then 1 else 0 end) as double)
                    / count(is_delivered_on_time)
        end as on_time_delivery_rate,

        ----------  problems
        cast(sum(case when had_exception then 1 else 0 end) as integer) as exceptions,
        cast(sum(case when status = 'returned' then 1 else 0 end) as integer) as returned

    from shipped
    where {{ not_held_back('date_day') }}
    {% if is_daily_run() %}
        -- a shipment's later versions (delivered, exception, returned) restate its ship date
        and date_day in {{ rebuilt_dates(['shipments']) }}
    {% endif %}
    group by date_day, warehouse_id, carrier

)

select * from final
