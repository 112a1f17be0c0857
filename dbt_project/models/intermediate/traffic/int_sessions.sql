{%- set model_config = incremental_by_date('session_date', tested_by_rebuilt_dates=['events']) -%}
{#- a table kept from before `direct_hits` gets the column, null on its older rows: the visitor
    counts read only the dates a run rebuilds (their own, and int_sessions's), and a full build
    fills every row -#}
{%- do model_config.update({'on_schema_change': 'append_new_columns'}) -%}
{{ config(**model_config) }}
-- tested by the dates a run rebuilt: a session's key holds its date
{#- What a session sums of its hits, the same whether its hits were sorted into sessions or not -#}
{%- set hit_totals -%}
count(*) as events,
        sum(case when campaign_key is null then 1 else 0 end) as direct_hits,
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
{%- endset %}

-- depends_on: {{ ref('int_rebuilt_dates') }}



with

-- read four times and computed each time: DuckDB keeping a large day's hits, these columns
-- of them, spilled gigabytes past the memory limit
events as {{ streamed_cte() }} (

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
    from {{ events_of_run() }} as stg_events__events
    where {{ in_rebuilt_event_dates() }}

),

repeat_devices as (

    -- the devices with more than one hit of a day, the small side of both joins below: 0.6M
    -- of a large day's 6.6M device-days (joined to every device-day, the hits took 2 s more)
    select anonymous_id, event_date
    from events
    group by anonymous_id, event_date
    having count(*) > 1

),

single_hits as (

    -- a device's only hit of the day is a session of its own: most of a large day (one-page
    -- visits), which so skip the window passes below and their memory
    select events.*
    from events
    where not exists (
        select 1 from repeat_devices
        where repeat_devices.anonymous_id = events.anonymous_id
            and repeat_devices.event_date = events.event_date
    )

),

repeat_hits as {{ streamed_cte() }} (

    -- read twice (the device-days below, the hits they cannot settle) and computed each time:
    -- DuckDB kept a large day's 3.2M repeat hits whole for it
    select events.*
    from events
    inner join repeat_devices
        on events.anonymous_id = repeat_devices.anonymous_id
        and events.event_date = repeat_devices.event_date

),

repeat_days as (

    -- a device's several hits of a day, summed as the session they almost always are (574,915
    -- of a large day's 584,119 such device-days): sorting every hit for the rules below took
    -- most of the model
    select
        anonymous_id,
        event_date,
        min(event_time) as started_at,
        max(event_time) as ended_at,
        {{ first_row_of(['platform', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'referrer_customer_key', 'campaign_key'], ['event_time', 'event_id']) }}
            as first_hit,
        count(campaign_key) as campaign_hits,
        min(campaign_key) as least_campaign_key,
        max(campaign_key) as greatest_campaign_key,
        {{ hit_totals }}
    from repeat_hits
    group by anonymous_id, event_date

),

settled_days as (

    -- one session by the rules below, without sorting its hits: no gap between two of them
    -- can pass the timeout when the first and the last are within it, and no hit starts a
    -- session by its campaign when every campaign hit carries the first hit's campaign
    select
        *,
        {{ seconds_between('started_at', 'ended_at') }} <= {{ var('session_timeout_minutes') }} * 60
        and (
            campaign_hits = 0
            or (
                least_campaign_key = greatest_campaign_key
                and first_hit.campaign_key is not null
            )
        ) as is_one_session
    from repeat_days

),

split_hits as (

    -- the hits of the other device-days, which the rules split into sessions
    select repeat_hits.*
    from repeat_hits
    inner join settled_days
        on repeat_hits.anonymous_id = settled_days.anonymous_id
        and repeat_hits.event_date = settled_days.event_date
    where not settled_days.is_one_session

),

hit_gaps as (

    -- GA4's rules, per device and day: a hit after the timeout starts a session... The rules
    -- need a hit's device, time and campaign only: the three window passes sort these, not
    -- every column of the hits
    select
        anonymous_id,
        event_date,
        event_time,
        event_id,
        campaign_key,
        case
            when lag(event_time) over device_day is null then 1
            when {{ seconds_between('lag(event_time) over device_day', 'event_time') }}
                > {{ var('session_timeout_minutes') }} * 60 then 1
            else 0
        end as after_timeout
    from split_hits
    window device_day as (partition by anonymous_id, event_date order by event_time, event_id)

),

hit_flags as (

    -- ...and so does a hit with a campaign other than the one its session runs under: the
    -- campaign a session runs under is carried from its first hit (none: direct) and from
    -- every campaign hit since
    select
        anonymous_id,
        event_date,
        event_time,
        event_id,
        case
            when after_timeout = 1 then 1
            when campaign_key is not null
                and campaign_key <> coalesce({{ last_non_null(
                    "case when after_timeout = 1 then coalesce(campaign_key, '(none)') else campaign_key end",
                    'anonymous_id, event_date', 'event_time, event_id', preceding_only=true) }}, '(none)')
                then 1
            else 0
        end as starts_session
    from hit_gaps

),

hit_sessions as (

    select
        event_id,
        event_date,
        starts_session,
        sum(starts_session) over (
            partition by anonymous_id, event_date order by event_time, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from hit_flags

),

numbered as (

    -- an event id is unique within its date (stg_events__events keeps one arrival of a retry)
    select split_hits.*, hit_sessions.starts_session, hit_sessions.session_number
    from split_hits
    inner join hit_sessions
        on split_hits.event_id = hit_sessions.event_id
        and split_hits.event_date = hit_sessions.event_date

),

split_sessions as (

    select
        anonymous_id,
        event_date,
        session_number,
        -- a session's source is what its first hit came with (none: a direct session)
        min(event_time) as started_at,
        max(case when starts_session = 1 then platform end) as platform,
        max(case when starts_session = 1 then utm_source end) as utm_source,
        max(case when starts_session = 1 then utm_medium end) as utm_medium,
        max(case when starts_session = 1 then utm_campaign end) as utm_campaign,
        max(case when starts_session = 1 then utm_content end) as utm_content,
        max(case when starts_session = 1 then referrer_customer_key end) as referrer_customer_key,
        max(case when starts_session = 1 and campaign_key is not null then 1 else 0 end) = 1
            as is_touch,
        max(event_time) as ended_at,
        {{ hit_totals }}
    from numbered
    group by anonymous_id, event_date, session_number

),

all_sessions as {{ streamed_cte() }} (

    select * from split_sessions

    union all

    select
        anonymous_id,
        event_date,
        cast(1 as bigint) as session_number,
        started_at,
        first_hit.platform as platform,
        first_hit.utm_source as utm_source,
        first_hit.utm_medium as utm_medium,
        first_hit.utm_campaign as utm_campaign,
        first_hit.utm_content as utm_content,
        first_hit.referrer_customer_key as referrer_customer_key,
        first_hit.campaign_key is not null as is_touch,
        ended_at,
        events,
        direct_hits,
        customer_key,
        page_views,
        leads,
        add_to_carts,
        checkouts,
        purchases,
        shares,
        experiment_id,
        variant
    from settled_days
    where is_one_session

    union all

    select
        anonymous_id,
        event_date,
        cast(1 as bigint) as session_number,
        event_time as started_at,
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        referrer_customer_key,
        campaign_key is not null as is_touch,
        event_time as ended_at,
        cast(1 as bigint) as events,
        case when campaign_key is null then 1 else 0 end as direct_hits,
        customer_key,
        case when event_type = 'page_view' then 1 else 0 end as page_views,
        case when event_type = 'lead_submit' then 1 else 0 end as leads,
        case when event_type = 'add_to_cart' then 1 else 0 end as add_to_carts,
        case when event_type = 'checkout' then 1 else 0 end as checkouts,
        case when event_type = 'purchase' then 1 else 0 end as purchases,
        case when event_type = 'share' then 1 else 0 end as shares,
        experiment_id,
        variant
    from single_hits

),

grouping as (

    -- the seed's rules, once per distinct source of the day's hits: every session's source is
    -- its first hit's, and the sessions themselves, read twice, were kept whole (6M rows of a
    -- large day) to find their fifteen sources
    {{ grouped_sources('events', utm_source='utm_source', utm_medium='utm_medium', referrer=share_link_referrer('referrer_customer_key')) }}

),

sessions as (

    select
        {{ surrogate_key(['all_sessions.anonymous_id', 'all_sessions.event_date', 'all_sessions.session_number']) }} as session_key,
        all_sessions.anonymous_id,
        all_sessions.event_date as session_date,
        cast(all_sessions.session_number as integer) as session_number,
        all_sessions.started_at,
        all_sessions.ended_at,
        all_sessions.customer_key,
        all_sessions.platform,
        all_sessions.utm_source,
        all_sessions.utm_medium,
        all_sessions.utm_campaign,
        all_sessions.utm_content,
        all_sessions.referrer_customer_key,
        all_sessions.is_touch,
        grouping.channel,
        grouping.traffic_class,
        cast(all_sessions.events as integer) as events,
        -- its hits without UTM or referral information: in a session that came with some, they
        -- are direct hits of their own (int_visitors_daily counts the device as direct too)
        cast(all_sessions.direct_hits as integer) as direct_hits,
        cast(all_sessions.page_views as integer) as page_views,
        cast(all_sessions.leads as integer) as leads,
        cast(all_sessions.add_to_carts as integer) as add_to_carts,
        cast(all_sessions.checkouts as integer) as checkouts,
        cast(all_sessions.purchases as integer) as purchases,
        cast(all_sessions.shares as integer) as shares,
        all_sessions.experiment_id,
        all_sessions.variant
    from all_sessions
    left join grouping
        on {{ source_matches('grouping', utm_source='all_sessions.utm_source', utm_medium='all_sessions.utm_medium', referrer=share_link_referrer('all_sessions.referrer_customer_key')) }}

)

select * from sessions
