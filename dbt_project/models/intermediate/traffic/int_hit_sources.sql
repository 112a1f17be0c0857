{#- Every hit's own arrival source, grouped by the channel-grouping seed: the hits of a day that
    came with UTM or referral information, and the direct ones. A view of every date, for
    reading and testing: int_visitors_daily counts the same channels from the sessions (a
    session's campaign hits share its source, its other hits are direct). -#}

with

events as (

    select
        event_id,
        anonymous_id,
        event_date,
        landed_date,
        utm_source,
        utm_medium,
        {{ share_link_referrer('referrer_customer_key') }} as has_referrer
    from {{ ref('stg_events__events') }}

),

grouping as (

    {{ grouped_sources('events', utm_source='utm_source', utm_medium='utm_medium', referrer='has_referrer') }}

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
        on {{ source_matches('grouping', utm_source='events.utm_source', utm_medium='events.utm_medium', referrer='events.has_referrer') }}

)

select * from hits
