{{ config(**incremental_by_date('date_day', hold_back=true, tested_by_rebuilt_dates=['crm_touches'])) }}
-- tested by the dates a run rebuilt: a row's key holds its date

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Message fatigue (marts.md): for each customer and day they were touched, how many days in a
    row they have been touched up to it (gaps and islands: a day without a touch ends the
    streak), and `throttle` from the streak's Nth day (seed crm_thresholds,
    fatigue_throttle_days: 7). A day is the Asia/Shanghai date the touch was sent; a touch
    counts whether or not it was delivered (the customer was targeted).

    A daily run restates every date from the first send date its folders touch. On DuckDB it
    reads the touches from those folders on, and continues each customer's streak from the
    day before, as the mart holds it, instead of counting it again over a year of touches.
    Spark cannot overwrite partitions of a table the same query reads, so there the streaks
    are counted over every touch, which a cluster affords. -#}

{%- set carries_streaks = is_daily_run() and target.type != 'spark' %}

with

thresholds as (

    select max(case when threshold = 'fatigue_throttle_days' then value end) as throttle_days
    from {{ ref('crm_thresholds') }}

),
{%- if is_daily_run() %}

restated as (

    -- a restated day changes the streaks of every day after it
    select min(date_day) as since
    from {{ ref('int_rebuilt_dates') }}
    where reason = 'crm_touches'

),
{%- endif %}

touched_days as (

    select
        customer_key,
        -- sent_at is naive Asia/Shanghai time: its date is the business date
        cast(sent_at as date) as date_day,
        count(*) as touches
    {%- set since = first_rebuilt_date('crm_touches') if carries_streaks else none %}
    from {{ staged_for_run('stg_crm_touches__touches', since, touches_as_reported) }} as touches
    where customer_key is not null
    {%- if carries_streaks %}
        and cast(sent_at as date) >= (select since from restated)
    {%- endif %}
    group by customer_key, cast(sent_at as date)

),

numbered as (

    select
        *,
        row_number() over (partition by customer_key order by date_day) as day_number
    from touched_days

),

islands as (

    -- consecutive dates share their date minus their rank: one island per streak
    select
        *,
        {{ add_days('date_day', '-day_number') }} as island
    from numbered

),

island_days as (

    select
        customer_key,
        date_day,
        touches,
        min(date_day) over (partition by customer_key, island) as island_start_date,
        row_number() over (partition by customer_key, island order by date_day) as island_day
    from islands

),

{% if carries_streaks -%}
carried as (

    -- the streak each customer was on the day before the first restated one: an island
    -- starting on that day continues it
    select mart.customer_key, mart.streak_start_date, mart.consecutive_days, restated.since
    from {{ this }} as mart
    cross join restated
    where mart.date_day = {{ add_days('restated.since', '-1') }}

),

streaks as (

    select
        island_days.customer_key,
        island_days.date_day,
        island_days.touches,
        case
            when carried.customer_key is not null
                and island_days.island_start_date = carried.since
                then carried.streak_start_date
            else island_days.island_start_date
        end as streak_start_date,
        island_days.island_day + case
            when carried.customer_key is not null
                and island_days.island_start_date = carried.since
                then carried.consecutive_days
            else 0
        end as consecutive_days
    from island_days
    left join carried on island_days.customer_key = carried.customer_key

),
{%- else -%}
streaks as (

    select
        customer_key,
        date_day,
        touches,
        island_start_date as streak_start_date,
        island_day as consecutive_days
    from island_days

),
{%- endif %}

final as (

    select
        {{ surrogate_key(['streaks.date_day', 'streaks.customer_key']) }} as customer_day_id,
        streaks.date_day,
        streaks.customer_key,
        cast(streaks.touches as bigint) as touches,
        streaks.streak_start_date,
        cast(streaks.consecutive_days as integer) as consecutive_days,
        streaks.consecutive_days >= thresholds.throttle_days as throttle
    from streaks
    cross join thresholds
    where {{ not_held_back('streaks.date_day') }}
    {%- if is_daily_run() and not carries_streaks %}
        and streaks.date_day >= (select since from restated)
    {%- endif %}

)

select * from final
