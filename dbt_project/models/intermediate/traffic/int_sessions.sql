{{ config(**incremental_by_date('session_date')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{%- set event_dates = rebuilt_date_values(['events']) if is_daily_run() else [] %}

with

events as (

    select
        event_id,
        anonymous_id,
        customer_key,
        event_time,
        event_date,
        event_type,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        referrer_customer_key,
        experiment_id,
        variant,
        -- what a hit says of where it came from: null for a hit without campaign information
        case
            when coalesce(utm_source, utm_medium, utm_campaign, utm_content, referrer_customer_key) is not null
            then {{ surrogate_key(['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'referrer_customer_key']) }}
        end as campaign_key
    from {{ ref('stg_events__events') }}
    {%- if is_daily_run() %}
    -- the event dates the run's folders hold: an event lands in its own date's folder or later
    where {{ date_in('event_date', event_dates) }}
        {%- if event_dates %}
        and landed_date >= cast('{{ event_dates[0] }}' as date)
        {%- endif %}
    {%- endif %}

),

gaps as (

    -- GA4's rules, per device and day: a hit after the timeout starts a session...
    select
        *,
        case
            when lag(event_time) over device_day is null then 1
            when {{ epoch_seconds('event_time') }} - {{ epoch_seconds('lag(event_time) over device_day') }}
                > {{ var('session_timeout_minutes') }} * 60 then 1
            else 0
        end as after_timeout
    from events
    window device_day as (partition by anonymous_id, event_date order by event_time, event_id)

),

carried as (

    -- ...and so does a hit with a campaign other than the one its session runs under: the
    -- campaign a session runs under is carried from its first hit (none: direct) and from
    -- every campaign hit since
    select
        *,
        {{ last_non_null("case when after_timeout = 1 then coalesce(campaign_key, '(none)') else campaign_key end", 'anonymous_id, event_date', 'event_time, event_id') }}
            as running_campaign
    from gaps

),

flagged as (

    select
        *,
        case
            when after_timeout = 1 then 1
            when campaign_key is not null
                and campaign_key <> lag(running_campaign) over (
                    partition by anonymous_id, event_date order by event_time, event_id
                ) then 1
            else 0
        end as starts_session
    from carried

),

numbered as (

    select
        *,
        sum(starts_session) over (
            partition by anonymous_id, event_date order by event_time, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged

),

starts as (

    -- a session's source is what its first hit came with (none: a direct session)
    select
        anonymous_id,
        event_date,
        session_number,
        event_time as started_at,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        referrer_customer_key,
        campaign_key is not null as is_touch
    from numbered
    where starts_session = 1

),

totals as (

    select
        anonymous_id,
        event_date,
        session_number,
        max(event_time) as ended_at,
        count(*) as events,
        -- a login during the session identifies it (two logins on one device and session:
        -- the greater key, so both engines agree)
        max(customer_key) as customer_key,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_views,
        sum(case when event_type = 'lead_submit' then 1 else 0 end) as leads,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
        sum(case when event_type = 'checkout' then 1 else 0 end) as checkouts,
        sum(case when event_type = 'purchase' then 1 else 0 end) as purchases,
        sum(case when event_type = 'share' then 1 else 0 end) as shares,
        max(experiment_id) as experiment_id,
        max(variant) as variant
    from numbered
    group by anonymous_id, event_date, session_number

),

sources as (

    -- the seed's rules run once per distinct source, not once per session
    select distinct
        {{ surrogate_key(['utm_source', 'utm_medium', 'has_referrer']) }} as source_key,
        utm_source,
        utm_medium,
        has_referrer
    from (
        select
            utm_source,
            utm_medium,
            case when referrer_customer_key is not null then 'share_link' end as has_referrer
        from starts
    ) as session_sources

),

grouping as (

    {{ channel_grouping('sources', 'source_key', utm_source='utm_source', utm_medium='utm_medium', referrer='has_referrer') }}

),

sessions as (

    select
        {{ surrogate_key(['starts.anonymous_id', 'starts.event_date', 'starts.session_number']) }} as session_key,
        starts.anonymous_id,
        starts.event_date as session_date,
        cast(starts.session_number as integer) as session_number,
        starts.started_at,
        totals.ended_at,
        totals.customer_key,
        starts.platform,
        starts.utm_source,
        starts.utm_medium,
        starts.utm_campaign,
        starts.utm_content,
        starts.referrer_customer_key,
        starts.is_touch,
        grouping.channel,
        grouping.traffic_class,
        cast(totals.events as integer) as events,
        cast(totals.page_views as integer) as page_views,
        cast(totals.leads as integer) as leads,
        cast(totals.add_to_carts as integer) as add_to_carts,
        cast(totals.checkouts as integer) as checkouts,
        cast(totals.purchases as integer) as purchases,
        cast(totals.shares as integer) as shares,
        totals.experiment_id,
        totals.variant
    from starts
    inner join totals
        on starts.anonymous_id = totals.anonymous_id
        and starts.event_date = totals.event_date
        and starts.session_number = totals.session_number
    left join grouping
        on {{ surrogate_key(['starts.utm_source', 'starts.utm_medium', "case when starts.referrer_customer_key is not null then 'share_link' end"]) }}
        = grouping.grouped_key

)

select * from sessions
