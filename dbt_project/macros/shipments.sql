{#- The shipments as the logistics system last sent them: one row per shipment, its latest
    version, with whether any version reported an exception. stg_shipments__shipments is this
    over every folder.

    `since_landed_date` (a date literal): only the folders from that date on. A version lands in
    the folder of its own date (`updated_at`) or a later one, and a shipment shipped on a date
    is sent again from then on only, with its exceptions, so for the shipments shipped from
    that date on these folders hold their latest version and every exception: the rows of
    those ship dates are the same as over every folder. A daily run reads its rebuilt ship
    dates through this (staged_for_run). -#}
{% macro shipments_as_landed(since_landed_date=none) -%}
    with

    source as (

        select * from {{ source('shipments', 'shipments') }}
        where {{ not_held_back('_business_date') }}{{ landed_since(since_landed_date) }}

    ),

    versions as (

        -- the logistics system re-sends the shipment on every status change: latest wins
        {{ latest_version('source', partition_by='shipment_id', order_by='updated_at desc, _business_date desc, _line desc') }}

    ),

    exceptions as (

        -- a delivery exception is a passing status: the latest version of a shipment that had
        -- one is usually `delivered`, so it is kept as a flag over every version
        select
            shipment_id,
            max(case when status = 'exception' then 1 else 0 end) = 1 as had_exception
        from source
        group by shipment_id

    ),

    renamed as (

        select
            ----------  ids
            versions.shipment_id,
            order_id,
            warehouse_id,

            ----------  attributes
            carrier,
            status,
            exceptions.had_exception,

            ----------  dates and timestamps (naive Asia/Shanghai local time)
            created_at,
            shipped_at,
            promised_delivery_date,
            delivered_at,
            cast(delivered_at as date) as delivered_date,
            updated_at,

            ----------  lineage
            _business_date as last_landed_date

        from versions
        inner join exceptions on versions.shipment_id = exceptions.shipment_id

    )

    select * from renamed
{%- endmacro %}
