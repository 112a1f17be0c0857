{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# The five-stage funnel per day and channel (marts.md): exposures (ad impressions and the
    content platforms' post impressions) -> clicks (ad clicks and post link clicks) ->
    visitors (devices whose hits came through the channel) -> leads (devices that left their
    contact, 留资, in a session of the channel) -> buyers (new and repeat customers of the
    channel's orders; a marketplace guest counts as one buyer per order) -> referrals sent
    (share events in the channel's sessions). Each rate divides a stage by the one before it;
    a marketplace channel has no exposures or visitors of ours, so its rates up to the
    purchase are null. -#}

{%- set reasons = ['orders', 'first_orders', 'events', 'ads', 'content'] %}

with

ads as (

    select date_day, channel, sum(impressions) as exposures, sum(clicks) as clicks
    from {{ staged_for_run('stg_ads__campaign_days', first_rebuilt_date(reasons), campaign_days_as_reported) }} as campaign_days
    {{- where_rebuilt('date_day', reasons) }}
    group by date_day, channel

),

posts as (

    select * from {{ staged_for_run('stg_content__post_days', first_rebuilt_date(reasons), post_days_as_reported) }} as post_days
    {{- where_rebuilt('stat_date', reasons) }}

),

content_channels as (

    -- a post's platform is grouped as a link from it would be (wechat_channels is wechat)
    {{ grouped_sources('posts', utm_source='platform') }}

),

content as (

    select
        posts.stat_date as date_day,
        content_channels.channel,
        sum(posts.impressions) as exposures,
        sum(posts.link_clicks) as clicks
    from posts
    inner join content_channels
        on {{ source_matches('content_channels', utm_source='posts.platform') }}
    group by posts.stat_date, content_channels.channel

),

media as (

    select date_day, channel, sum(exposures) as exposures, sum(clicks) as clicks
    from (
        select * from ads
        union all
        select * from content
    ) as both_media
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

sessions as (

    select
        session_date as date_day,
        channel,
        count(distinct case when leads > 0 then anonymous_id end) as leads,
        sum(shares) as referrals_sent
    from {{ ref('int_sessions') }}
    {{- where_rebuilt('session_date', reasons) }}
    group by session_date, channel

),

buyers as (

    select
        date_day,
        channel,
        count(distinct case when is_first_order then customer_key end) as new_buyers,
        count(distinct case when not is_first_order then coalesce(customer_key, order_id) end)
            as repeat_buyers
    from {{ ref('fct_orders') }}
    {{- where_rebuilt('date_day', reasons) }}
    group by date_day, channel

),

keys as (

    select date_day, channel from media
    union
    select date_day, channel from visitors
    union
    select date_day, channel from sessions
    union
    select date_day, channel from buyers

),

stages as (

    select
        keys.date_day,
        keys.channel,
        cast(coalesce(media.exposures, 0) as bigint) as exposures,
        cast(coalesce(media.clicks, 0) as bigint) as clicks,
        cast(coalesce(visitors.visitors, 0) as bigint) as visitors,
        cast(coalesce(sessions.leads, 0) as bigint) as leads,
        cast(coalesce(buyers.new_buyers, 0) as bigint) as new_buyers,
        cast(coalesce(buyers.repeat_buyers, 0) as bigint) as repeat_buyers,
        cast(coalesce(sessions.referrals_sent, 0) as bigint) as referrals_sent
    from keys
    left join media on keys.date_day = media.date_day and keys.channel = media.channel
    left join visitors on keys.date_day = visitors.date_day and keys.channel = visitors.channel
    left join sessions on keys.date_day = sessions.date_day and keys.channel = sessions.channel
    left join buyers on keys.date_day = buyers.date_day and keys.channel = buyers.channel

),

final as (

    select
        {{ surrogate_key(['date_day', 'channel']) }} as channel_day_id,
        date_day,
        channel,
        exposures,
        clicks,
        visitors,
        leads,
        new_buyers,
        repeat_buyers,
        referrals_sent,
        cast(clicks as double) / nullif(exposures, 0) as click_rate,
        cast(visitors as double) / nullif(clicks, 0) as visit_rate,
        cast(leads as double) / nullif(visitors, 0) as lead_rate,
        cast(new_buyers + repeat_buyers as double) / nullif(visitors, 0) as purchase_rate,
        cast(referrals_sent as double) / nullif(new_buyers + repeat_buyers, 0) as referral_rate
    from stages
    where {{ not_held_back('date_day') }}
    {%- if is_daily_run() %}
        and date_day in {{ rebuilt_dates(reasons) }}
    {%- endif %}

)

select * from final
