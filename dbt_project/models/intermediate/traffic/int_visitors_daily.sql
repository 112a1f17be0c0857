{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{#- Distinct devices per day, channel and traffic class, of the sessions of the rebuilt dates.
    A device counts on each channel its hits came through (int_hit_sources's rule): a session's
    first hit and every campaign hit of it come through the session's own source, and its hits
    without UTM or referral information (`direct_hits`) are direct hits of their own. So the
    sessions alone give every device's channels, where reading the hits again took most of a
    large day's model (3 s of 9M hits). Most devices of a day hit once (6.0M of a large day's
    6.6M): such a device is one session and counts once wherever it counts; only the devices
    with several hits are counted distinct. #}

with

{%- set rebuilding = is_daily_run() %}

sessions as (

    select anonymous_id, session_date, session_number, events, direct_hits, is_touch, channel, traffic_class
    from {{ ref('int_sessions') }}
    {%- if rebuilding %}
    where {{ date_in('session_date', rebuilt_date_values(['events'])) }}
    {%- endif %}

),

no_source as (

    select
        cast(null as {{ dbt.type_string() }}) as utm_source,
        cast(null as {{ dbt.type_string() }}) as utm_medium,
        cast(null as {{ dbt.type_string() }}) as has_referrer

),

direct as (

    -- the channel and traffic class of a hit without UTM or referral information (the seed's)
    {{ grouped_sources('no_source', utm_source='utm_source', utm_medium='utm_medium', referrer='has_referrer') }}

),

repeat_devices as (

    -- a device with more than one hit that day: a session of several hits, or several sessions
    select distinct anonymous_id, session_date
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
                and repeat_devices.session_date = sessions.session_date
        )

),

repeat_device_sessions as (

    select sessions.*
    from sessions
    inner join repeat_devices
        on sessions.anonymous_id = repeat_devices.anonymous_id
        and sessions.session_date = repeat_devices.session_date

),

repeat_device_channels as (

    select session_date as event_date, anonymous_id, channel, traffic_class
    from repeat_device_sessions

    union all

    -- a campaign session's direct hits: a direct session's channel is direct already
    select
        repeat_device_sessions.session_date as event_date,
        repeat_device_sessions.anonymous_id,
        direct.channel,
        direct.traffic_class
    from repeat_device_sessions
    cross join direct
    where repeat_device_sessions.is_touch and repeat_device_sessions.direct_hits > 0

),

counted as (

    -- a device that arrived through two classes counts in both
    {%- for relation, visitors in [('single_hit_devices', 'count(*)'), ('repeat_device_channels', 'count(distinct anonymous_id)')] %}
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
