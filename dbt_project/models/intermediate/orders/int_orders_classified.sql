with

orders as (

    select * from {{ ref('stg_orders__orders') }}

),

grouping as (

    -- the seed's rules, once per distinct store and UTM pair
    {{ grouped_sources('orders', store='store', utm_source='utm_source', utm_medium='utm_medium') }}

),

classified as (

    select
        orders.*,
        grouping.channel,
        grouping.traffic_class
    from orders
    left join grouping
        on {{ source_key(store='orders.store', utm_source='orders.utm_source', utm_medium='orders.utm_medium') }}
        = grouping.source_key

)

select * from classified
