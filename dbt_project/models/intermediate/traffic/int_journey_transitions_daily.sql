{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Each day's transitions of the first-order Markov chain of its journeys (int_journeys):
    start -> channel -> ... -> conversion | null, with the gmv of the converting journeys that
    made them. Small (channels x channels a day), so the windows of mart_journey_transitions
    sum these, not every journey. Rebuilt on the dates int_journeys rebuilds. -#}

with

journeys as {{ streamed_cte() }} (

    select date_day, journey_id, converted, step_number, steps, channel, gmv
    from {{ ref('int_journeys') }}
    {%- if is_daily_run() %}
    where {{ journey_dates('date_day') }}
    {%- endif %}

),

multi_step_journeys as (

    -- the touch after each touch, in journeys of several: most journeys are one touch (3.5M of
    -- a large day's 3.55M), whose way out is the journey's end, and sorting them for it took
    -- most of the model
    select
        date_day,
        converted,
        step_number,
        steps,
        channel,
        gmv,
        lead(channel) over (partition by journey_id order by step_number) as next_channel
    from journeys
    where steps > 1

),

steps as (

    -- into the first touch ...
    select date_day, converted, '(start)' as from_state, channel as to_state, gmv
    from journeys
    where step_number = 1

    union all

    -- ... out of every touch but the last, into the next ...
    select date_day, converted, channel as from_state, next_channel as to_state, gmv
    from multi_step_journeys
    where step_number < steps

    union all

    -- ... and out of the last, into the journey's end
    select
        date_day,
        converted,
        channel as from_state,
        case when converted then '(conversion)' else '(null)' end as to_state,
        gmv
    from journeys
    where step_number >= steps

)

select
    date_day,
    from_state,
    to_state,
    cast(count(*) as bigint) as transitions,
    cast(sum(case when converted then gmv else 0 end) as decimal(18, 2)) as gmv
from steps
group by date_day, from_state, to_state
