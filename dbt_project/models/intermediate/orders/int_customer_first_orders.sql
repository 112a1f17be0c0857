{{ config(**incremental_by_key('customer_key')) }}

with

paid_orders as (

    select customer_key, order_id, paid_at, paid_date
    from {{ ref('int_orders_classified') }}
    where paid_at is not null and customer_key is not null
    {%- if is_daily_run() %}
        -- the customers whose orders this run's landing folders hold, over their whole history
        and customer_key in (
            select customer_key from {{ source('orders', 'orders') }}
            where {{ in_run_folders('_business_date') }} and customer_key is not null
        )
    {%- endif %}

),

ranked as (

    -- a customer's first paid order makes them a new customer on its payment date; two
    -- orders paid in the same second: the lower order_id
    select
        *,
        row_number() over (partition by customer_key order by paid_at, order_id) as paid_order_number
    from paid_orders

),

first_orders as (

    select
        customer_key,
        order_id as first_order_id,
        paid_at as first_paid_at,
        paid_date as first_order_date
    from ranked
    where paid_order_number = 1

)

select * from first_orders
