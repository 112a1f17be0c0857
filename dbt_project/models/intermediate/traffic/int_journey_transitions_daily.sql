{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Each day's transitions of the first-order Markov chain of its journeys (int_journeys):
    start -> channel -> ... -> conversion | null, with the gmv of the converting journeys that
    made them. Small (channels x channels a day), so the windows of mart_journey_transitions
    sum these, not every journey. Rebuilt on the dates int_journeys rebuilds. -#}

with

journeys as (

    select
        *,
        lead(channel) over (partition by journey_id order by step_number) as next_channel
    from {{ ref('int_journeys') }}
    {%- if is_daily_run() %}
    where {{ journey_dates('date_day') }}
    {%- endif %}

),

steps as (

    -- into the first touch ...
    select date_day, converted, '(start)' as from_state, channel as to_state, gmv
    from journeys
    where step_number = 1

    union all

    -- ... and out of every touch: into the next, or the journey's end
    select
        date_day,
        converted,
        channel as from_state,
        case
            when step_number < steps then next_channel
            when converted then '(conversion)'
            else '(null)'
        end as to_state,
        gmv
    from journeys

)

select
    date_day,
    from_state,
    to_state,
    cast(count(*) as bigint) as transitions,
    cast(sum(case when converted then gmv else 0 end) as decimal(18, 2)) as gmv
from steps
group by date_day, from_state, to_state
