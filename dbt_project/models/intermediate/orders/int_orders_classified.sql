with

orders as (

    select * from {{ ref('stg_orders__orders') }}

),

grouping as (

    {{ channel_grouping('orders', 'order_id', store='store', utm_source='utm_source', utm_medium='utm_medium') }}

),

paid_sequence as (

    -- a customer's first paid order makes them a new customer on its payment date
    select
        order_id,
        row_number() over (
            partition by customer_key order by paid_at, order_id
        ) as paid_order_number
    from orders
    where paid_at is not null and customer_key is not null

),

classified as (

    select
        orders.*,
        grouping.channel,
        grouping.traffic_class,
        coalesce(paid_sequence.paid_order_number = 1, false) as is_first_order
    from orders
    left join grouping on orders.order_id = grouping.grouped_key
    left join paid_sequence on orders.order_id = paid_sequence.order_id

)

select * from classified
