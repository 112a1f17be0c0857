{%- set model_config = incremental_by_key('customer_key') -%}
{#- a table kept from before profile_landed_date gets the column, and this run rebuilds it
    whole (keeps_profiles): the upgrade needs no full refresh -#}
{%- do model_config.update({'post_hook': ["{{ remove_unknown_customers() }}"],
                            'on_schema_change': 'append_new_columns'}) -%}
{{ config(**model_config) }}
{%- set keeps_profiles = is_daily_run()
    and 'profile_landed_date' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}

{#- One row per customer, kept per customer: a daily run rebuilds the customers it touched
    (touched_customers) and keeps the rest, where the whole table (272,845 customers after a
    year) was rebuilt and written every night. A customer the CRM and the paid orders no longer
    know (a folder landed again without them) leaves (the post-hook). On Spark, a table
    rebuilt whole (incremental_by_key). -#}
-- a daily run reads {{ source('customers', 'customers') }} itself
-- depends_on: {{ ref('int_rebuilt_dates') }}

with

{% if keeps_profiles %}

touched as (

    {{ touched_customers() }}

),

{% endif %}

crm as (

    select * from {{ ref('int_customer_profiles') }}
    {%- if keeps_profiles %}
    where customer_key in (select customer_key from touched)
    {%- endif %}

),

first_orders as (

    -- the first paid order of the customer, as fct_orders flags it
    select customer_key, order_id, date_day, channel, traffic_class
    from {{ ref('fct_orders') }}
    where is_first_order
    {%- if keeps_profiles %}
        and customer_key in (select customer_key from touched)
    {%- endif %}

),

last_touches as (

    select order_id, channel, traffic_class
    from {{ ref('fct_attribution') }}
    where model = 'last_touch'
    {%- if keeps_profiles %}
        and order_id in (select order_id from first_orders)
    {%- endif %}

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
            as acquisition_traffic_class,
        case when crm.is_erased then null else crm.last_landed_date end as profile_landed_date
    from customers
    left join crm on customers.customer_key = crm.customer_key
    left join acquisition on customers.customer_key = acquisition.customer_key

)

select * from final
