{{ config(**incremental_by_date('date_day', hold_back=true, tested_by_rebuilt_dates=['orders', 'first_orders', 'events'])) }}
-- tested by the dates a run rebuilt: an order's rows share its payment date (an order that
-- moved dates fails fct_orders' unique order_id, tested whole)

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Every paid order's gmv spread over its touches by five models (marts.md): first_touch,
    last_touch, linear, position_based and time_decay. An order's weights sum to 1 in each
    model; an order without a touch is one row, direct (or its marketplace's channel). -#}

with

paths as (

    select * from {{ ref('int_order_touches') }}
    where {{ not_held_back('date_day') }}
    {%- if is_daily_run() %}
        and {{ order_path_dates('date_day') }}
    {%- endif %}

),

decay as (

    -- time decay: a touch's weight halves every half-life before the order
    select
        *,
        power(
            0.5,
            {{ seconds_between('touched_at', 'created_at') }}
            / ({{ var('attribution_half_life_days') }} * 86400.0)
        ) as decay_factor
    from paths

),

weighted as (

    select
        decay.*,
        case when touch_number <= 1 then 1.0 else 0.0 end as first_touch,
        case when touch_number = touches or touches = 0 then 1.0 else 0.0 end as last_touch,
        -- a weight is a double on both engines: Spark's decimal division keeps twelve places,
        -- which a large order's gmv magnifies past the parity tolerance
        case when touches = 0 then 1.0 else cast(1 as double) / touches end as linear,
        case
            when touches <= 1 then 1.0
            when touches = 2 then 0.5
            when touch_number = 1 then {{ var('attribution_position_first') }}
            when touch_number = touches then {{ var('attribution_position_last') }}
            else cast(
                1.0 - {{ var('attribution_position_first') }} - {{ var('attribution_position_last') }}
                as double
            ) / (touches - 2)
        end as position_based,
        case
            when touches = 0 then 1.0
            -- summed in path order, so the same bits on every run and engine
            else decay_factor / sum(decay_factor) over (
                partition by order_id order by touch_number
                rows between unbounded preceding and unbounded following
            )
        end as time_decay
    from decay

),

models as (

    {%- for model in ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}
    select
        {{ surrogate_key(['order_id', "'" ~ model ~ "'", 'touch_number']) }} as attribution_id,
        order_id,
        '{{ model }}' as model,
        touch_number,
        date_day,
        touch_type,
        touched_at,
        channel,
        traffic_class,
        campaign_id,
        post_id,
        koc_id,
        cast({{ model }} as double) as weight,
        cast({{ model }} * cast(gmv as double) as double) as attributed_gmv
    from weighted
    where {{ model }} > 0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from models
