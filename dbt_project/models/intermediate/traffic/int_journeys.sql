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

    select session_key, anonymous_id, session_date, started_at, channel, traffic_class
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

unconverted as (

    select
        touches.*,
        row_number() over (
            partition by touches.anonymous_id, touches.session_date
            order by touches.started_at, touches.session_key
        ) as step_number,
        count(*) over (partition by touches.anonymous_id, touches.session_date) as steps
    from touches
    left join in_paths on touches.session_key = in_paths.session_key
    where in_paths.session_key is null

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
