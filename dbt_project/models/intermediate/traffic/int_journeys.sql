{{ config(**incremental_by_date('date_day')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Every journey of the data-driven (Markov) attribution, one row per touch, converting and not.
    A converting journey is an owned-store order's touch path (int_order_touches: the buyer's
    touches within the lookback, as every rule-based model reads them), dated by its payment.
    A non-converting journey is a device's touches of one day that joined no order's path,
    dated that day: keyed by device, not customer, so a later login that stitches the device
    does not move it. Orders without touches (direct, marketplace) have no journey. -#}

with

{%- set rebuilding = is_daily_run() %}

order_paths as (

    select * from {{ ref('int_order_touches') }}
    where touch_type = 'session'
    {%- if rebuilding %}
        and {{ journey_dates('date_day') }}
    {%- endif %}

),

converting as (

    select
        order_id as journey_id,
        date_day,
        true as converted,
        touch_number as step_number,
        touches as steps,
        session_key,
        touched_at,
        channel,
        traffic_class,
        gmv
    from order_paths

),

touches as (

    select session_key, anonymous_id, session_date, session_number, started_at, channel, traffic_class
    from {{ ref('int_sessions') }}
    where is_touch
    {%- if rebuilding %}
        and {{ journey_dates('session_date') }}
    {%- endif %}

),

in_paths as (

    -- touches in some order's path: orders up to a lookback after the rebuilt dates are
    -- read too, since they can take a touch of those dates
    select distinct session_key from {{ ref('int_order_touches') }}
    where touch_type = 'session'
    {%- if rebuilding %}
        and {{ journey_dates('date_day') }}
    {%- endif %}

),

unpathed as (

    select touches.*
    from touches
    left join in_paths on touches.session_key = in_paths.session_key
    where in_paths.session_key is null

),

later_touch_days as (

    -- a device's second touch of a day is a later session of it: only those days can hold
    -- several touches (10,072 of a large day's 3.5M touches are on them; grouping every touch
    -- took most of the model)
    select distinct anonymous_id, session_date
    from unpathed
    where session_number > 1

),

repeat_touch_days as (

    select unpathed.anonymous_id, unpathed.session_date
    from unpathed
    inner join later_touch_days
        on unpathed.anonymous_id = later_touch_days.anonymous_id
        and unpathed.session_date = later_touch_days.session_date
    group by unpathed.anonymous_id, unpathed.session_date
    having count(*) > 1

),

unconverted as (

    -- a device's only touch of a day outside every path is a journey of one step: most of a
    -- large day's 3.5M, which so skip the window's sort (the model took 5.6 s of the cores,
    -- 4.6 s this way)
    select unpathed.*, cast(1 as bigint) as step_number, cast(1 as bigint) as steps
    from unpathed
    where not exists (
        select 1 from repeat_touch_days
        where repeat_touch_days.anonymous_id = unpathed.anonymous_id
            and repeat_touch_days.session_date = unpathed.session_date
    )

    union all

    select
        unpathed.*,
        row_number() over (
            partition by unpathed.anonymous_id, unpathed.session_date
            order by unpathed.started_at, unpathed.session_key
        ) as step_number,
        count(*) over (partition by unpathed.anonymous_id, unpathed.session_date) as steps
    from unpathed
    inner join repeat_touch_days
        on unpathed.anonymous_id = repeat_touch_days.anonymous_id
        and unpathed.session_date = repeat_touch_days.session_date

),

non_converting as (

    select
        {{ surrogate_key(["'device'", 'anonymous_id', 'session_date']) }} as journey_id,
        session_date as date_day,
        false as converted,
        cast(step_number as integer) as step_number,
        cast(steps as integer) as steps,
        session_key,
        started_at as touched_at,
        channel,
        traffic_class,
        cast(0 as decimal(18, 2)) as gmv
    from unconverted

),

journeys as (

    select * from converting
    union all
    select * from non_converting

)

select * from journeys
