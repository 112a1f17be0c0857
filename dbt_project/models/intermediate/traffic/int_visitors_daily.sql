{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{#- Distinct devices per day, channel and traffic class, of the hits of the rebuilt dates. Most
    devices of a day hit once (6.0M of a large day's 6.6M): such a device is one session of one
    hit in int_sessions, its channel that hit's own, and it counts once wherever it counts. Only
    the devices with several hits are counted distinct, from their hits (int_hit_sources's rule,
    macro hit_sources): a session's later hits without campaign information are direct hits of
    their own, which its row does not show. Distinct counts over every hit of a large day took
    15 s of the cores (6.6 s this way), and the hits, kept whole for them, spilled past the
    memory limit. #}

with

{%- set rebuilding = is_daily_run() %}

sessions as (

    select anonymous_id, session_date, session_number, events, channel, traffic_class
    from {{ ref('int_sessions') }}
    {%- if rebuilding %}
    where {{ date_in('session_date', rebuilt_date_values(['events'])) }}
    {%- endif %}

),

repeat_devices as (

    -- a device with more than one hit that day: a session of several hits, or several sessions
    select distinct anonymous_id, session_date as event_date
    from sessions
    where events > 1 or session_number > 1

),

single_hit_devices as (

    select
        sessions.session_date as event_date,
        sessions.anonymous_id,
        sessions.channel,
        sessions.traffic_class
    from sessions
    where sessions.events = 1
        and sessions.session_number = 1
        and not exists (
            select 1 from repeat_devices
            where repeat_devices.anonymous_id = sessions.anonymous_id
                and repeat_devices.event_date = sessions.session_date
        )

),

repeat_device_hits as (

    -- the filter sits under the hits' grouping (macro hit_sources): the hits of every device,
    -- grouped first, took a second more
    select event_date, anonymous_id, channel, traffic_class
    from (
        {{ hit_sources(in_rebuilt_event_dates() ~ ' and exists (
            select 1 from repeat_devices
            where repeat_devices.anonymous_id = stg_events__events.anonymous_id
                and repeat_devices.event_date = stg_events__events.event_date
        )') }}
    ) as hits

),

counted as (

    -- a device that arrived through two classes counts in both
    {%- for relation, visitors in [('single_hit_devices', 'count(*)'), ('repeat_device_hits', 'count(distinct anonymous_id)')] %}
    select
        event_date as date_day,
        case
            when grouping(channel) = 0 then 'channel'
            when grouping(traffic_class) = 0 then 'traffic_class'
            else 'all'
        end as dimension,
        coalesce(channel, traffic_class, 'all') as dimension_value,
        {{ visitors }} as visitors
    from {{ relation }}
    group by grouping sets ((event_date), (event_date, channel), (event_date, traffic_class))
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}

)

select
    date_day,
    dimension,
    dimension_value,
    cast(sum(visitors) as bigint) as visitors
from counted
group by date_day, dimension, dimension_value
