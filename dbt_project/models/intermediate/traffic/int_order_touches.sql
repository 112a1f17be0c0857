{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}
-- depends_on: {{ ref('int_device_logins') }}

{# Each paid order's touch path: the sessions that arrived with UTM or referral information
    within the lookback before the order was created, from the buyer (logged in, or on a
    device stitched to them: touches before the login count) or on the device the order was
    placed from. An owned-store order without any is one row `direct`; a marketplace order is
    one row of its store's channel (the marketplace sees no touches of ours). -#}

with

orders as (

    select
        fct_orders.order_id,
        fct_orders.date_day,
        fct_orders.store,
        fct_orders.channel as order_channel,
        fct_orders.traffic_class as order_traffic_class,
        fct_orders.customer_key,
        fct_orders.created_at,
        fct_orders.gmv,
        classified.anonymous_id,
        fct_orders.store in ('wechat_miniprogram', 'own_site') as is_owned_store
    from {{ ref('fct_orders') }} as fct_orders
    left join {{ ref('int_orders_classified') }} as classified
        on fct_orders.order_id = classified.order_id
    {%- if is_daily_run() %}
    where {{ order_path_dates('fct_orders.date_day') }}
    {%- endif %}

),

owned_orders as (

    select * from orders where is_owned_store

),
{%- if is_daily_run() %}

buyers as (

    select distinct customer_key from owned_orders where customer_key is not null

),

buyer_devices as (

    -- the devices ever logged in as a buyer: the only ones stitching can give a buyer
    select distinct anonymous_id
    from {{ ref('int_device_logins') }}
    where customer_key in (select customer_key from buyers)

),

stitched as (

    -- int_devices_stitched over those devices' logins: ranking a year of logins on every run
    -- took most of the model's time
    {{ devices_stitched(
        '(select * from ' ~ ref('int_device_logins')
        ~ ' where anonymous_id in (select anonymous_id from buyer_devices))'
    ) }}

),
{%- else %}

stitched as (

    select * from {{ ref('int_devices_stitched') }}

),
{%- endif %}

touches as (

    select
        sessions.session_key,
        sessions.anonymous_id,
        sessions.customer_key as login_customer_key,
        coalesce(sessions.customer_key, stitched.customer_key) as customer_key,
        sessions.started_at,
        sessions.channel,
        sessions.traffic_class,
        sessions.utm_campaign,
        sessions.utm_content
    from {{ ref('int_sessions') }} as sessions
    left join stitched
        on sessions.anonymous_id = stitched.anonymous_id
    where sessions.is_touch
        and sessions.session_date >= (
            select cast(min(created_at) - interval {{ var('attribution_lookback_days') }} day as date)
            from owned_orders
        )
    {%- if is_daily_run() %}
        -- the sessions a candidate below can take: a buyer's, logged in or on a device they
        -- logged in on, or on an order's device
        and (
            sessions.customer_key in (select customer_key from buyers)
            or sessions.anonymous_id in (select anonymous_id from buyer_devices)
            or sessions.anonymous_id in (select anonymous_id from owned_orders)
        )
    {%- endif %}

),

candidates as (

    -- the buyer's touches (by login or stitched device) ...
    select owned_orders.order_id, touches.*
    from owned_orders
    inner join touches on owned_orders.customer_key = touches.customer_key
    where touches.started_at < owned_orders.created_at
        and touches.started_at >= owned_orders.created_at - interval {{ var('attribution_lookback_days') }} day

    union

    -- ... and those on the device the order was placed from
    select owned_orders.order_id, touches.*
    from owned_orders
    inner join touches on owned_orders.anonymous_id = touches.anonymous_id
    where touches.started_at < owned_orders.created_at
        and touches.started_at >= owned_orders.created_at - interval {{ var('attribution_lookback_days') }} day

),

numbered as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.order_id order by candidates.started_at, candidates.session_key
        ) as touch_number,
        count(*) over (partition by candidates.order_id) as touches
    from candidates

),

posts as (

    select post_id, max(koc_id) as koc_id
    from {{ ref('stg_content__post_days') }}
    group by post_id

),

paths as (

    select
        orders.order_id,
        orders.date_day,
        orders.created_at,
        orders.gmv,
        orders.customer_key,
        cast(numbered.touch_number as integer) as touch_number,
        cast(numbered.touches as integer) as touches,
        'session' as touch_type,
        numbered.session_key,
        numbered.started_at as touched_at,
        numbered.channel,
        numbered.traffic_class,
        numbered.utm_campaign as campaign_id,
        numbered.utm_content as post_id,
        posts.koc_id,
        numbered.login_customer_key is not null as is_logged_in,
        numbered.anonymous_id = orders.anonymous_id as on_order_device
    from orders
    inner join numbered on orders.order_id = numbered.order_id
    left join posts on numbered.utm_content = posts.post_id

    union all

    -- an order without a touch is kept, as direct (an owned store) or its store's channel
    select
        orders.order_id,
        orders.date_day,
        orders.created_at,
        orders.gmv,
        orders.customer_key,
        cast(0 as integer) as touch_number,
        cast(0 as integer) as touches,
        case when orders.is_owned_store then 'direct' else 'marketplace' end as touch_type,
        cast(null as {{ dbt.type_string() }}) as session_key,
        cast(null as timestamp) as touched_at,
        case when orders.is_owned_store then 'own_site' else orders.order_channel end as channel,
        case when orders.is_owned_store then 'natural' else orders.order_traffic_class end as traffic_class,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as post_id,
        cast(null as {{ dbt.type_string() }}) as koc_id,
        false as is_logged_in,
        false as on_order_device
    from orders
    where not exists (select 1 from numbered where numbered.order_id = orders.order_id)

)

select * from paths
