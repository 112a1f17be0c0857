{#- Rebuilt whole on every run (a table): one row per customer is small beside the facts, a
    customer's profile is its latest CRM version (any later folder can change it, or erase it),
    and the acquisition channel follows its first order, which a late order can change. -#}
{{ config(materialized='table') }}

with

crm as (

    select * from {{ ref('stg_customers__customers') }}

),

first_orders as (

    -- the first paid order of the customer, as fct_orders flags it
    select customer_key, order_id, date_day, channel, traffic_class
    from {{ ref('fct_orders') }}
    where is_first_order

),

last_touches as (

    select order_id, channel, traffic_class
    from {{ ref('fct_attribution') }}
    where model = 'last_touch'

),

acquisition as (

    -- the last-touch channel of the first order (marts.md's default model); an order
    -- without a touch row keeps its own channel (a marketplace's, or own_site direct)
    select
        first_orders.customer_key,
        first_orders.date_day as first_order_date,
        coalesce(last_touches.channel, first_orders.channel) as acquisition_channel,
        coalesce(last_touches.traffic_class, first_orders.traffic_class) as acquisition_traffic_class
    from first_orders
    left join last_touches on first_orders.order_id = last_touches.order_id

),

customers as (

    select customer_key from crm
    union
    select customer_key from acquisition

),

final as (

    -- an erased customer (PIPL) keeps the key and the erased flag, and nothing else
    select
        customers.customer_key,
        coalesce(crm.is_erased, false) as is_erased,
        case when crm.is_erased then null else crm.member_tier end as tier,
        case when crm.is_erased then null else crm.province end as province,
        case when crm.is_erased then null else crm.city end as city,
        case when crm.is_erased then null else crm.register_channel end as register_channel,
        case when crm.is_erased then null else crm.registered_at end as registered_at,
        case when crm.is_erased then null else acquisition.first_order_date end as first_order_date,
        case when crm.is_erased then null else acquisition.acquisition_channel end as acquisition_channel,
        case when crm.is_erased then null else acquisition.acquisition_traffic_class end
            as acquisition_traffic_class
    from customers
    left join crm on customers.customer_key = crm.customer_key
    left join acquisition on customers.customer_key = acquisition.customer_key

)

select * from final
