{#- Rebuilt whole on every run (a table): cohort month x months since is small (a year of
    cohorts is under 100 rows), and a late or refunded order restates its cohort's every later
    month (the cumulative revenue). -#}
{{ config(materialized='table') }}

with

orders as (

    select customer_key, date_day, net_revenue
    from {{ ref('fct_orders') }}
    where customer_key is not null

),

cohorts as (

    -- a customer's cohort is the month of their first paid order
    select customer_key, {{ month_start('min(date_day)') }} as month_start
    from orders
    group by customer_key

),

cohort_sizes as (

    select month_start, count(*) as cohort_size
    from cohorts
    group by month_start

),

months as (

    select distinct {{ month_start('date_day') }} as activity_month from orders

),

grid as (

    -- every month of the data from the cohort's first on, so a month nobody came back in is
    -- a row with 0 active customers, not a missing one
    select
        cohort_sizes.month_start,
        cohort_sizes.cohort_size,
        months.activity_month,
        (year(months.activity_month) - year(cohort_sizes.month_start)) * 12
        + month(months.activity_month) - month(cohort_sizes.month_start) as months_since_first_order
    from cohort_sizes
    inner join months on months.activity_month >= cohort_sizes.month_start

),

activity as (

    select
        cohorts.month_start,
        {{ month_start('orders.date_day') }} as activity_month,
        count(distinct orders.customer_key) as active_customers,
        sum(orders.net_revenue) as net_revenue
    from orders
    inner join cohorts on orders.customer_key = cohorts.customer_key
    group by cohorts.month_start, {{ month_start('orders.date_day') }}

),

combined as (

    select
        grid.month_start,
        grid.months_since_first_order,
        grid.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        -- exact decimal sums, so the cumulative figure has the same bits on every engine
        sum(coalesce(activity.net_revenue, 0)) over (
            partition by grid.month_start order by grid.months_since_first_order
            rows between unbounded preceding and current row
        ) as cumulative_net_revenue
    from grid
    left join activity
        on grid.month_start = activity.month_start
        and grid.activity_month = activity.activity_month

),

final as (

    select
        {{ surrogate_key(['month_start', 'months_since_first_order']) }} as cohort_month_id,
        month_start,
        cast(months_since_first_order as integer) as months_since_first_order,
        cast(cohort_size as bigint) as cohort_size,
        cast(active_customers as bigint) as active_customers,
        cast(round(cast(active_customers as double) / cohort_size, 6) as double) as retention_rate,
        cast(cumulative_net_revenue as decimal(18, 2)) as cumulative_net_revenue,
        cast(round(cast(cumulative_net_revenue as double) / cohort_size, 6) as double)
            as cumulative_net_revenue_per_customer
    from combined

)

select * from final
