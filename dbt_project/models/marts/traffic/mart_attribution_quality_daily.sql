{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# How far attribution can be trusted, per day of owned-store orders (marts.md): coverage is
    the share of orders (and of their gmv) with at least one attributable touch (target 0.90);
    agreement is measured on the orders whose buyer was logged in on every touch, where the
    login path is complete: the share of them whose last touch seen from the order's device
    alone (its fingerprint, no login) has the same channel as the login path's last touch
    (direct when the device saw none). -#}

with

paths as (

    select * from {{ ref('int_order_touches') }}
    where touch_type in ('session', 'direct')
    {%- if is_daily_run() %}
        and {{ order_path_dates('date_day') }}
    {%- endif %}

),

orders as (

    select
        order_id,
        date_day,
        max(gmv) as gmv,
        max(case when touch_type = 'session' then 1 else 0 end) as is_attributed,
        min(case when touch_type = 'session' and is_logged_in then 1 else 0 end)
            as logged_in_on_every_touch,
        max(case when touch_number = touches then channel end) as login_last_channel,
        max(case when on_order_device then touch_number end) as last_device_touch
    from paths
    group by order_id, date_day

),

device_last as (

    select orders.order_id, paths.channel as device_last_channel
    from orders
    inner join paths
        on orders.order_id = paths.order_id and orders.last_device_touch = paths.touch_number

),

judged as (

    select
        orders.*,
        coalesce(device_last.device_last_channel, 'own_site') as device_last_channel
    from orders
    left join device_last on orders.order_id = device_last.order_id

),

final as (

    select
        date_day,
        cast(count(*) as bigint) as owned_orders,
        cast(sum(is_attributed) as bigint) as attributed_orders,
        cast(sum(is_attributed) as double) / count(*) as coverage,
        -- gmv summed as decimals, exactly, whatever order the rows come in
        cast(sum(case when is_attributed = 1 then gmv else 0 end) as double)
            / nullif(cast(sum(gmv) as double), 0) as gmv_coverage,
        cast(sum(is_attributed * logged_in_on_every_touch) as bigint) as comparable_orders,
        cast(sum(
            case
                when is_attributed = 1 and logged_in_on_every_touch = 1
                    and device_last_channel = login_last_channel then 1
                else 0
            end
        ) as double) / nullif(sum(is_attributed * logged_in_on_every_touch), 0) as agreement
    from judged
    where {{ not_held_back('date_day') }}
    group by date_day

)

select * from final
