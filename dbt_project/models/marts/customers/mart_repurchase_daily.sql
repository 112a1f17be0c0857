{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{#- Repurchase over the trailing 365 days of each date (marts.md): the repeat-customer rate and
    the repurchase cycle. A date's window holds its own day and the 364 before it, so an order
    restates its payment date and the 364 dates after it (rebuilt_dates_with_window). Costs grow
    with the orders and the dates, not with their product: customers are counted from spells
    (the dates each paid day covers), the cycle from a per-day histogram of gaps. -#}

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

order_neighbours as (

    -- each paid order with the payment dates of the customer's orders before and after it (by
    -- payment, then id): one sort of a year's orders serves both the spells and the cycle
    -- (sorted twice, they were most of the model's time)
    select
        customer_key,
        date_day,
        lag(date_day) over customer_orders as previous_order_day,
        lead(date_day) over customer_orders as next_order_day
    from orders
    window customer_orders as (partition by customer_key order by paid_at, order_id)

),

customer_days as (

    -- a customer's days with a paid order, with their paid days before and after: a day's
    -- first order follows the previous paid day's, its last precedes the next paid day's
    select
        customer_key,
        date_day,
        count(*) as orders,
        max(case when previous_order_day <> date_day then previous_order_day end) as previous_day,
        max(case when next_order_day <> date_day then next_order_day end) as next_day
    from order_neighbours
    group by customer_key, date_day

),

spells as (

    -- the dates on which a paid day is the customer's latest in the window: from it to the
    -- day before their next one, at most 364 days on (a customer on each); of those, the
    -- dates whose window also holds an earlier order (a repeat customer): all of them when
    -- the day holds two orders, else while the previous paid day is within 364 days
    select
        date_day as first_date,
        last_date,
        case
            when orders >= 2 then last_date
            when previous_day is not null then least(last_date, {{ add_days('previous_day', window_days - 1) }})
        end as last_repeat_date
    from (
        select
            *,
            least(
                coalesce({{ add_days('next_day', -1) }}, {{ add_days('date_day', window_days - 1) }}),
                {{ add_days('date_day', window_days - 1) }}
            ) as last_date
        from customer_days
    ) as bounded

),

changes as (

    -- each spell adds 1 from its first date and takes it away after its last: a date's
    -- count is the sum of the changes up to it (one pass over the orders, not one per date)
    select date_day, sum(customers) as customers, sum(repeat_customers) as repeat_customers
    from (
        select first_date as date_day, 1 as customers, 0 as repeat_customers from spells
        union all
        select {{ add_days('last_date', 1) }} as date_day, -1 as customers, 0 as repeat_customers
        from spells
        union all
        select first_date as date_day, 0 as customers, 1 as repeat_customers
        from spells where last_repeat_date >= first_date
        union all
        select {{ add_days('last_repeat_date', 1) }} as date_day, 0 as customers, -1 as repeat_customers
        from spells where last_repeat_date >= first_date
    ) as deltas
    group by date_day

),

customer_counts as (

    select
        target_dates.date_day,
        sum(changes.customers) as customers,
        sum(changes.repeat_customers) as repeat_customers
    from target_dates
    inner join changes on changes.date_day <= target_dates.date_day
    group by target_dates.date_day

),

gaps as (

    -- days from each paid order of a customer to their next (on payment dates; two orders
    -- paid the same day are 0 days apart), counted per day of the later order and gap
    select
        date_day,
        {{ days_between('previous_order_day', 'date_day') }} as days_since_previous,
        count(*) as pairs
    from order_neighbours
    where previous_order_day is not null
    group by date_day, {{ days_between('previous_order_day', 'date_day') }}

),

gap_histogram as (

    -- the consecutive pairs whose later order falls in the date's window, by gap
    select
        target_dates.date_day,
        gaps.days_since_previous,
        sum(gaps.pairs) as pairs
    from target_dates
    inner join gaps
        on gaps.date_day between {{ add_days('target_dates.date_day', 1 - window_days) }}
        and target_dates.date_day
    group by target_dates.date_day, gaps.days_since_previous

),

gap_ranks as (

    select
        date_day,
        days_since_previous,
        pairs,
        sum(pairs) over (
            partition by date_day order by days_since_previous
            rows between unbounded preceding and current row
        ) as cumulative_pairs,
        sum(pairs) over (partition by date_day) as total_pairs
    from gap_histogram

),

cycle as (

    -- the median as percentile_cont(0.5) computes it: the mean of the gaps at the 0-based
    -- ranks floor((n - 1) / 2) and ceil((n - 1) / 2), read off the histogram
    select
        date_day,
        max(total_pairs) as repurchases,
        sum(days_since_previous * pairs) as total_days,
        cast(
            min(case when cumulative_pairs > floor((total_pairs - 1) / 2) then days_since_previous end)
            + min(case when cumulative_pairs > ceil((total_pairs - 1) / 2) then days_since_previous end)
            as double
        ) / 2 as median_days
    from gap_ranks
    group by date_day

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
