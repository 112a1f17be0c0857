with

orders as (

    select * from {{ ref('stg_orders__orders') }}

),

combinations as (

    -- the seed's rules run once per distinct (store, utm_source, utm_medium), however many
    -- orders share it: a few hundred rows, not the order history
    select distinct
        {{ surrogate_key(['store', 'utm_source', 'utm_medium']) }} as combination_key,
        store,
        utm_source,
        utm_medium
    from orders

),

grouping as (

    {{ channel_grouping('combinations', 'combination_key', store='store', utm_source='utm_source', utm_medium='utm_medium') }}

),

classified as (

    select
        orders.*,
        grouping.channel,
        grouping.traffic_class
    from orders
    left join grouping
        on {{ surrogate_key(['orders.store', 'orders.utm_source', 'orders.utm_medium']) }}
        = grouping.grouped_key

)

select * from classified
