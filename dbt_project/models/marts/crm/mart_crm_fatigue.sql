{{ config(**incremental_by_date('date_day', hold_back=true, tested_by_rebuilt_dates=true)) }}
-- tested by the dates a run rebuilt: a row's key holds its date

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Message fatigue (marts.md): for each customer and day they were touched, how many days in a
    row they have been touched up to it (gaps and islands: a day without a touch ends the
    streak), and `throttle` from the streak's Nth day (seed crm_thresholds,
    fatigue_throttle_days: 7). A day is the Asia/Shanghai date the touch was sent; a touch
    counts whether or not it was delivered (the customer was targeted). -#}

with

thresholds as (

    select max(case when threshold = 'fatigue_throttle_days' then value end) as throttle_days
    from {{ ref('crm_thresholds') }}

),

touched_days as (

    select
        customer_key,
        -- sent_at is naive Asia/Shanghai time: its date is the business date
        cast(sent_at as date) as date_day,
        count(*) as touches
    from {{ ref('stg_crm_touches__touches') }}
    where customer_key is not null
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

streaks as (

    select
        customer_key,
        date_day,
        touches,
        min(date_day) over (partition by customer_key, island) as streak_start_date,
        row_number() over (partition by customer_key, island order by date_day) as consecutive_days
    from islands

),

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
    {%- if is_daily_run() %}
        -- a restated day changes the streaks of every day after it
        and streaks.date_day >= (
            select min(date_day) from {{ ref('int_rebuilt_dates') }} where reason = 'crm_touches'
        )
    {%- endif %}

)

select * from final
