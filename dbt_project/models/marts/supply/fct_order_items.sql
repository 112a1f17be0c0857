{{ config(**incremental_by_date('date_day', hold_back=true, tested_by_rebuilt_dates=['orders'])) }}
-- tested by the dates a run rebuilt: an order's lines share its payment date (an order that
-- moved dates fails fct_orders' unique order_id, tested whole)
-- depends_on: {{ ref('int_rebuilt_dates') }}

with

orders as (

    select order_id, date_day, store, channel
    from {{ ref('fct_orders') }}
    where {{ not_held_back('date_day') }}
    {% if is_daily_run() %}
        -- an order's items change only with a new snapshot of the order
        and date_day in {{ rebuilt_dates(['orders']) }}
    {% endif %}

),

paid_orders as (

    -- the orders above only: their items are parsed, not a year's
    select order_id, items
    from {{ ref('int_orders_classified') }}
    where paid_at is not null
        and order_id in (select order_id from orders)

),

item_lines as (

    {{ order_item_lines('paid_orders') }}

),

final as (

    select
        ----------  ids
        {{ surrogate_key(['item_lines.order_id', 'item_lines.line_number']) }} as order_line_id,
        item_lines.order_id,
        cast(item_lines.line_number as integer) as line_number,
        item_lines.sku_id,

        ----------  the order's
        orders.date_day,
        orders.store,
        orders.channel,

        ----------  numerics
        cast(item_lines.qty as integer) as units,
        cast(item_lines.unit_price as decimal(18, 2)) as unit_price,
        cast(item_lines.discount as decimal(18, 2)) as discount,
        cast(item_lines.qty * item_lines.unit_price - item_lines.discount as decimal(18, 2))
            as line_amount

    from item_lines
    inner join orders on item_lines.order_id = orders.order_id

)

select * from final
