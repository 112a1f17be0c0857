{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Where the day's visitors came from, by traffic class (paid, social, private, natural; the
    plan's target: natural at least 0.40), and the gmv of each class's orders. A visitor
    counts in every class it arrived through that day, so `share` is each class's reach among
    the day's visitors and the shares can sum above 1; `gmv_share` sums to 1. -#}

with

visitors as (

    select date_day, dimension_value as traffic_class, visitors
    from {{ ref('int_visitors_daily') }}
    where dimension = 'traffic_class'

),

day_visitors as (

    select date_day, visitors as all_visitors
    from {{ ref('int_visitors_daily') }}
    where dimension = 'all'

),

gmv as (

    select date_day, traffic_class, sum(gmv) as gmv
    from {{ ref('fct_orders') }}
    group by date_day, traffic_class

),

day_gmv as (

    select date_day, sum(gmv) as all_gmv
    from gmv
    group by date_day

),

keys as (

    select date_day, traffic_class from visitors
    union
    select date_day, traffic_class from gmv

),

final as (

    select
        {{ surrogate_key(['keys.date_day', 'keys.traffic_class']) }} as traffic_class_day_id,
        keys.date_day,
        keys.traffic_class,
        cast(coalesce(visitors.visitors, 0) as bigint) as visitors,
        cast(coalesce(visitors.visitors, 0) as double) / nullif(day_visitors.all_visitors, 0)
            as share,
        cast(coalesce(gmv.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(gmv.gmv, 0) as double) / nullif(cast(day_gmv.all_gmv as double), 0)
            as gmv_share
    from keys
    left join visitors
        on keys.date_day = visitors.date_day and keys.traffic_class = visitors.traffic_class
    left join day_visitors on keys.date_day = day_visitors.date_day
    left join gmv on keys.date_day = gmv.date_day and keys.traffic_class = gmv.traffic_class
    left join day_gmv on keys.date_day = day_gmv.date_day
    where {{ not_held_back('keys.date_day') }}
    {%- if is_daily_run() %}
        and keys.date_day in {{ rebuilt_dates(['orders', 'events']) }}
    {%- endif %}

)

select * from final
