{{ config(**incremental_by_date('date_day')) }}

with

orders as (

    select * from {{ ref('int_orders_classified') }}
    where paid_at is not null

),

{% if is_incremental() and var('start_date') %}
touched_dates as (

    -- a run rebuilds the payment dates of every order that changed in its landing folders,
    -- so a refund landing weeks later restates the day the order was paid
    select distinct orders.paid_date as date_day
    from orders
    inner join {{ source('orders', 'orders') }} as landed
        on orders.order_id = landed.order_id
    where landed._business_date between cast('{{ var("start_date") }}' as date)
        and cast('{{ var("end_date", var("start_date")) }}' as date)

),
{% endif %}

final as (

    select
        order_id,
        paid_date as date_day,
        status,
        store,
        channel,
        traffic_class,
        customer_key,
        cast(paid_amount as decimal(18, 2)) as gmv,
        cast(refund_amount as decimal(18, 2)) as refund_amount,
        cast(paid_amount - refund_amount as decimal(18, 2)) as net_revenue,
        cast(units as integer) as items,
        cast(item_lines as integer) as item_lines,
        is_first_order,
        cast(shipping_fee as decimal(18, 2)) as shipping_fee,
        cast(discount_total as decimal(18, 2)) as discount_total,
        coupon_code,
        province,
        city,
        utm_source,
        utm_medium,
        utm_campaign,
        created_at,
        paid_at
    from orders
    {% if is_incremental() and var('start_date') %}
    where paid_date in (select date_day from touched_dates)
    {% endif %}

)

select * from final
