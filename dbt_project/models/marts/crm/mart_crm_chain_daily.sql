{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# The private-domain chain per send date, channel and campaign (marts.md): sent, delivered,
    opened, clicked (a touch's latest report: staging keeps its most advanced one), and the
    delivered touches' customers who paid an order within the conversion window after the
    send (seed crm_thresholds, conversion_window_days: 7; from the send, inclusive, to 7 days
    after it, exclusive), and among those converters the ones whose paid order in the window
    was a repurchase (not their first paid order). -#}

with

thresholds as (

    select max(case when threshold = 'conversion_window_days' then value end) as window_days
    from {{ ref('crm_thresholds') }}

),

touches as (

    -- a daily run: the folders since the first send date it may restate, its touches' own or
    -- a window before a restated payment's (staged_for_run; the dates are picked in `rebuilt`)
    {%- set since = first_rebuilt_date(
        ['crm_touches', 'orders', 'first_orders'],
        days_before=threshold_value('crm_thresholds', 'conversion_window_days')
    ) %}
    select * from {{ staged_for_run('stg_crm_touches__touches', since, touches_as_reported) }} as touches

),

paid_orders as (

    select customer_key, paid_at, is_first_order
    from {{ ref('fct_orders') }}
    where customer_key is not null and paid_at is not null

),

conversions as (

    select
        touches.touch_id,
        max(case when paid_orders.is_first_order then 0 else 1 end) as is_repurchase
    from touches
    inner join paid_orders on touches.customer_key = paid_orders.customer_key
    cross join thresholds
    where touches.is_delivered
        and paid_orders.paid_at >= touches.sent_at
        and {{ seconds_between('touches.sent_at', 'paid_orders.paid_at') }}
        < thresholds.window_days * 86400
    group by touches.touch_id

),

chain as (

    select
        touches.sent_date as date_day,
        touches.channel,
        touches.campaign_id,
        count(*) as sent,
        sum(case when touches.is_delivered then 1 else 0 end) as delivered,
        sum(case when touches.is_opened then 1 else 0 end) as opened,
        sum(case when touches.is_clicked then 1 else 0 end) as clicked,
        count(distinct case when conversions.touch_id is not null then touches.customer_key end)
            as converted,
        count(distinct case when conversions.is_repurchase = 1 then touches.customer_key end)
            as repurchased
    from touches
    left join conversions on touches.touch_id = conversions.touch_id
    group by touches.sent_date, touches.channel, touches.campaign_id

),

{% if is_daily_run() -%}
rebuilt as (

    -- a send date is restated by its touches' reports, and by a payment within the window
    -- after it (a paid order restated on date D concerns the sends of D - window .. D)
    select date_day from {{ ref('int_rebuilt_dates') }} where reason = 'crm_touches'

    union

    select chain_dates.date_day
    from (select distinct date_day from chain) as chain_dates
    cross join thresholds
    inner join {{ ref('int_rebuilt_dates') }} as restated
        on restated.reason in ('orders', 'first_orders')
        and chain_dates.date_day
        between {{ add_days('restated.date_day', '-thresholds.window_days') }} and restated.date_day

),

{% endif -%}

final as (

    select
        {{ surrogate_key(['date_day', 'channel', 'campaign_id']) }} as chain_day_id,
        date_day,
        channel,
        campaign_id,
        cast(sent as bigint) as sent,
        cast(delivered as bigint) as delivered,
        cast(opened as bigint) as opened,
        cast(clicked as bigint) as clicked,
        cast(converted as bigint) as converted,
        cast(repurchased as bigint) as repurchased,
        -- a rate without a denominator is null, not zero
        cast(delivered as double) / nullif(sent, 0) as reach_rate,
        cast(opened as double) / nullif(delivered, 0) as open_rate,
        cast(clicked as double) / nullif(delivered, 0) as click_rate,
        cast(converted as double) / nullif(delivered, 0) as conversion_rate,
        cast(repurchased as double) / nullif(converted, 0) as repurchase_rate
    from chain
    where {{ not_held_back('date_day') }}
    {%- if is_daily_run() %}
        and date_day in (select date_day from rebuilt)
    {%- endif %}

)

select * from final
