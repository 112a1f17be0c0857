{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}
-- After int_sessions, though it reads none of it: the two scans of a day's hits, run at once on
-- the one DuckDB database, share its memory limit and the cores; a large day's dbt build took
-- 51-52 s with them side by side against 43-46 s one after the other (alternated, one copy).
-- depends_on: {{ ref('int_sessions') }}


with

hits as (

    -- int_hit_sources of the rebuilt dates, filtered before its grouping (macro hit_sources)
    select anonymous_id, event_date, channel, traffic_class
    from (
        {{ hit_sources(in_rebuilt_event_dates()) }}
    ) as hit_sources

),

counted as (

    -- distinct devices of a day, of each channel and of each traffic class; a device that
    -- arrived through two classes counts in both
    select
        event_date as date_day,
        case
            when grouping(channel) = 0 then 'channel'
            when grouping(traffic_class) = 0 then 'traffic_class'
            else 'all'
        end as dimension,
        coalesce(channel, traffic_class, 'all') as dimension_value,
        count(distinct anonymous_id) as visitors
    from hits
    group by grouping sets ((event_date), (event_date, channel), (event_date, traffic_class))

)

select
    date_day,
    dimension,
    dimension_value,
    cast(visitors as bigint) as visitors
from counted
