{# The first-order Markov chain of the journeys (int_journeys), counted per window: every
    transition start -> channel -> ... -> conversion | null, with its count and the gmv of the
    converting journeys that made it, over the trailing `data_driven_window_days` days ending
    on each journey date, and over each calendar month (to its latest journey date). The
    removal effects (mart_attribution_data_driven) are solved from these counts in Python: the
    matrix is channels x channels, whatever the number of journeys. Rebuilt whole each run
    from the daily counts (int_journey_transitions_daily, small: every window a restated date
    falls in changes). -#}

{%- set window_days = var('data_driven_window_days') %}

with

daily as (

    select * from {{ ref('int_journey_transitions_daily') }}
    where {{ not_held_back('date_day') }}

),

journey_dates as (

    select distinct date_day from daily

),

trailing_windows as (

    select
        'trailing_{{ window_days }}_days' as window_type,
        {{ add_days('ends.date_day', '-' ~ (window_days - 1)) }} as window_start,
        ends.date_day as window_end,
        daily.from_state,
        daily.to_state,
        sum(daily.transitions) as transitions,
        sum(daily.gmv) as gmv
    from journey_dates as ends
    inner join daily
        on daily.date_day between {{ add_days('ends.date_day', '-' ~ (window_days - 1)) }}
        and ends.date_day
    group by ends.date_day, daily.from_state, daily.to_state

),

months as (

    select {{ month_start('date_day') }} as window_start, max(date_day) as window_end
    from journey_dates
    group by {{ month_start('date_day') }}

),

month_windows as (

    select
        'month' as window_type,
        months.window_start,
        months.window_end,
        daily.from_state,
        daily.to_state,
        sum(daily.transitions) as transitions,
        sum(daily.gmv) as gmv
    from months
    inner join daily on {{ month_start('daily.date_day') }} = months.window_start
    group by months.window_start, months.window_end, daily.from_state, daily.to_state

),

all_windows as (

    select * from trailing_windows
    union all
    select * from month_windows

)

select
    {{ surrogate_key(['window_type', 'window_start', 'from_state', 'to_state']) }} as transition_id,
    window_type,
    window_start,
    window_end,
    from_state,
    to_state,
    cast(transitions as bigint) as transitions,
    cast(gmv as decimal(18, 2)) as gmv
from all_windows
