{#- The orders as the order management system last sent them: one row per order, its latest
    snapshot among `versions_sql` (a query of rows of the raw orders; by default every landed
    folder's), typed. stg_orders__orders is this over every folder; int_orders_classified ranks
    a daily run's folders with it. -#}
{% macro orders_as_landed(versions_sql=none) -%}
    {%- set versions_sql = versions_sql or landed_rows('orders', 'orders') -%}
    with

    source as (

        {{ versions_sql }}

    ),

    versions as (

        -- the order management system re-sends a full snapshot on every change: latest wins
        {{ latest_version('source', partition_by='order_id', order_by='updated_at desc, _business_date desc, _line desc') }}

    ),

    renamed as (

        select
            ----------  ids
            order_id,
            store,
            customer_key,
            anonymous_id,

            ----------  status and attributes
            status,
            coupon_code,
            province,
            city,
            utm_source,
            utm_medium,
            utm_campaign,

            ----------  numerics
            coalesce(paid_amount, 0) as paid_amount,
            coalesce(refund_amount, 0) as refund_amount,
            coalesce(shipping_fee, 0) as shipping_fee,
            coalesce(discount_total, 0) as discount_total,
            {{ order_units('items') }} as units,
            {{ json_array_size('items') }} as item_lines,

            ----------  items (JSON array of {sku_id, qty, unit_price, discount})
            items,

            ----------  timestamps (naive Asia/Shanghai local time)
            created_at,
            paid_at,
            updated_at,
            cast(paid_at as date) as paid_date,

            ----------  lineage
            _business_date as last_landed_date

        from versions

    )

    select * from renamed
{%- endmacro %}

{#- After a daily run of int_orders_classified: an order whose version came from a folder the
    run re-read, and that folder no longer holds (held back, or re-landed without it), leaves
    the table unless a version of it was ranked again (the run's delete+insert replaced it). -#}
{% macro remove_unlanded_orders() -%}
    {%- if target.type != 'spark' and run_var('start_date') -%}
    delete from {{ this }} as current_orders
    where {{ in_run_folders('current_orders.last_landed_date') }}
        and not exists (
            select 1 from {{ source('orders', 'orders') }} as landed
            where {{ not_held_back('landed._business_date') }}
                and {{ in_run_folders('landed._business_date') }}
                and landed.order_id = current_orders.order_id
                and landed._business_date = current_orders.last_landed_date
        )
    {%- endif -%}
{%- endmacro %}
