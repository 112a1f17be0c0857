{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Channel economics per day (marts.md): paid media, visitors, last-touch orders and gmv, new
    customers, and the platforms' own claims beside the warehouse's. Every order of fct_orders
    lands in exactly one channel on its day: a marketplace order on its own, an owned-store
    order on its last touch's. -#}

{%- set reasons = ['orders', 'first_orders', 'events', 'ads'] %}

with

ads as (

    select
        date_day,
        channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(coalesce(platform_orders, 0)) as platform_claimed_orders,
        sum(coalesce(platform_gmv, 0)) as platform_claimed_gmv
    from {{ staged_for_run('stg_ads__campaign_days', first_rebuilt_date(reasons), campaign_days_as_reported) }} as campaign_days
    {{- where_rebuilt('date_day', reasons) }}
    group by date_day, channel

),

visitors as (

    select date_day, dimension_value as channel, visitors
    from {{ ref('int_visitors_daily') }}
    where dimension = 'channel'
    {%- if is_daily_run() %}
        and date_day in {{ rebuilt_dates(reasons) }}
    {%- endif %}

),

orders as (

    select
        date_day,
        channel,
        count(*) as orders,
        sum(gmv) as gmv,
        sum(case when is_first_order then 1 else 0 end) as new_customers
    from {{ ref('fct_orders') }}
    {{- where_rebuilt('date_day', reasons) }}
    group by date_day, channel

),

days_and_channels as (

    select date_day, channel from ads
    union
    select date_day, channel from visitors
    union
    select date_day, channel from orders

),

combined as (

    select
        keys.date_day,
        keys.channel,
        cast(coalesce(ads.spend, 0) as decimal(18, 2)) as spend,
        cast(coalesce(ads.impressions, 0) as bigint) as impressions,
        cast(coalesce(ads.clicks, 0) as bigint) as clicks,
        cast(coalesce(visitors.visitors, 0) as bigint) as visitors,
        cast(coalesce(orders.orders, 0) as bigint) as orders,
        cast(coalesce(orders.gmv, 0) as decimal(18, 2)) as gmv,
        cast(coalesce(orders.new_customers, 0) as bigint) as new_customers,
        cast(coalesce(ads.platform_claimed_orders, 0) as bigint) as platform_claimed_orders,
        cast(coalesce(ads.platform_claimed_gmv, 0) as decimal(18, 2)) as platform_claimed_gmv
    from days_and_channels as keys
    left join ads on keys.date_day = ads.date_day and keys.channel = ads.channel
    left join visitors on keys.date_day = visitors.date_day and keys.channel = visitors.channel
    left join orders on keys.date_day = orders.date_day and keys.channel = orders.channel

),

final as (

    select
        {{ surrogate_key(['date_day', 'channel']) }} as channel_day_id,
        date_day,
        channel,
        spend,
        impressions,
        clicks,
        visitors,
        orders,
        gmv,
        new_customers,
        -- a ratio without a denominator (no spend, no new customer) is null, not zero
        cast(spend / nullif(new_customers, 0) as double) as cac,
        cast(gmv / nullif(spend, 0) as double) as roas,
        cast(gmv / nullif(visitors, 0) as double) as uv_value,
        cast(gmv / nullif(orders, 0) as double) as aov,
        platform_claimed_orders,
        platform_claimed_gmv
    from combined
    where {{ not_held_back('date_day') }}
    {%- if is_daily_run() %}
        and date_day in {{ rebuilt_dates(reasons) }}
    {%- endif %}

)

select * from final
