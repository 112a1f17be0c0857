{%- set model_config = incremental_by_key('order_id') -%}
{%- do model_config.update({'post_hook': ["{{ remove_unlanded_orders() }}"]}) -%}
{{ config(**model_config) }}

{#- Every order in its latest snapshot (stg_orders__orders) with the channel and traffic class
    of its store and UTM parameters. Kept per order: a daily run ranks only the snapshots of its
    own folders against the version the table holds, where the view ranked a year of snapshots
    (2.9M, with their items) for each of four readers. An order whose version came from a folder
    the run re-reads (a re-run, a folder held back) is ranked again over all its snapshots. -#}
-- a daily run reads {{ source('orders', 'orders') }} itself

with

{% if is_daily_run() %}

reranked as (

    select order_id from {{ this }}
    where {{ in_run_folders('last_landed_date') }}

),

{%- set run_versions -%}
    select * from {{ source('orders', 'orders') }}
    where {{ not_held_back('_business_date') }} and {{ in_run_folders('_business_date') }}

    union all

    select * from {{ source('orders', 'orders') }}
    where {{ not_held_back('_business_date') }} and not {{ in_run_folders('_business_date') }}
        and order_id in (select order_id from reranked)
{%- endset %}

landed as (

    {{ orders_as_landed(run_versions) }}

),

kept as (

    -- the version the table holds, for the orders the run's folders bring a snapshot of
    select * exclude (channel, traffic_class) from {{ this }}
    where order_id in (select order_id from landed)
        and order_id not in (select order_id from reranked)

),

candidates as (

    select * from landed union all by name select * from kept

),

orders as (

    -- a folder's snapshot against the kept version: the same order as the staging view's
    -- (the kept one never came from the run's folders, so their landing dates differ)
    select * exclude (version_rank) from (
        {{ latest_version('candidates', partition_by='order_id', order_by='updated_at desc, last_landed_date desc') }}
    ) as latest

),

{% else %}

orders as (

    select * from {{ ref('stg_orders__orders') }}

),

{% endif %}

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
        on {{ source_matches('grouping', store='orders.store', utm_source='orders.utm_source', utm_medium='orders.utm_medium') }}

)

select * from classified
