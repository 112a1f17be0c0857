{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{#- Repurchase over the trailing 365 days of each date (marts.md): the repeat-customer rate and
    the repurchase cycle. A date's window holds its own day and the 364 before it, so an order
    restates its payment date and the 364 dates after it (rebuilt_dates_with_window). -#}

{%- set window_days = 365 %}

with

orders as (

    select order_id, customer_key, date_day, paid_at
    from {{ ref('fct_orders') }}
    where customer_key is not null

),

dates as (

    select distinct date_day from {{ ref('fct_orders') }}

),

target_dates as (

    select date_day from dates
    where {{ not_held_back('date_day') }}
    {%- if is_daily_run() %}
        and date_day in {{ rebuilt_dates_with_window(['orders', 'first_orders'], 'dates', 'date_day', window_days) }}
    {%- endif %}

),

customer_days as (

    select customer_key, date_day, count(*) as orders
    from orders
    group by customer_key, date_day

),

windowed_customers as (

    select
        target_dates.date_day,
        customer_days.customer_key,
        sum(customer_days.orders) as orders
    from target_dates
    inner join customer_days
        on customer_days.date_day between {{ add_days('target_dates.date_day', 1 - window_days) }}
        and target_dates.date_day
    group by target_dates.date_day, customer_days.customer_key

),

customer_counts as (

    select
        date_day,
        count(*) as customers,
        sum(case when orders >= 2 then 1 else 0 end) as repeat_customers
    from windowed_customers
    group by date_day

),

gaps as (

    -- days from each paid order of a customer to their next (on payment dates; two orders
    -- paid the same day are 0 days apart)
    select
        date_day,
        {{ days_between(
            'lag(date_day) over (partition by customer_key order by paid_at, order_id)',
            'date_day'
        ) }} as days_since_previous
    from orders

),

cycle as (

    -- the consecutive pairs whose later order falls in the date's window
    select
        target_dates.date_day,
        count(*) as repurchases,
        sum(gaps.days_since_previous) as total_days,
        {{ percentile_cont('gaps.days_since_previous', 0.5) }} as median_days
    from target_dates
    inner join gaps
        on gaps.date_day between {{ add_days('target_dates.date_day', 1 - window_days) }}
        and target_dates.date_day
    where gaps.days_since_previous is not null
    group by target_dates.date_day

),

final as (

    select
        target_dates.date_day,
        cast(coalesce(customer_counts.customers, 0) as bigint) as customers,
        cast(coalesce(customer_counts.repeat_customers, 0) as bigint) as repeat_customers,
        cast(round(
            cast(customer_counts.repeat_customers as double) / nullif(customer_counts.customers, 0), 6
        ) as double) as repeat_customer_rate,
        cast(coalesce(cycle.repurchases, 0) as bigint) as repurchases,
        cast(round(cast(cycle.total_days as double) / nullif(cycle.repurchases, 0), 6) as double)
            as mean_days_between_orders,
        cast(round(cycle.median_days, 6) as double) as median_days_between_orders
    from target_dates
    left join customer_counts on target_dates.date_day = customer_counts.date_day
    left join cycle on target_dates.date_day = cycle.date_day

)

select * from final
