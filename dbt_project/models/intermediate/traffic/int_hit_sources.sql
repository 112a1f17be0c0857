{#- Every hit's own arrival source, grouped by the channel-grouping seed: the hits of a day that
    came with UTM or referral information, and the direct ones. A view: its readers ask for the
    event dates they rebuild. -#}

with

events as (

    select
        event_id,
        anonymous_id,
        event_date,
        landed_date,
        utm_source,
        utm_medium,
        case when referrer_customer_key is not null then 'share_link' end as has_referrer
    from {{ ref('stg_events__events') }}

),

sources as (

    select distinct
        {{ surrogate_key(['utm_source', 'utm_medium', 'has_referrer']) }} as source_key,
        utm_source,
        utm_medium,
        has_referrer
    from events

),

grouping as (

    {{ channel_grouping('sources', 'source_key', utm_source='utm_source', utm_medium='utm_medium', referrer='has_referrer') }}

),

hits as (

    select
        events.event_id,
        events.anonymous_id,
        events.event_date,
        events.landed_date,
        grouping.channel,
        grouping.traffic_class
    from events
    left join grouping
        on {{ surrogate_key(['events.utm_source', 'events.utm_medium', 'events.has_referrer']) }}
        = grouping.grouped_key

)

select * from hits
