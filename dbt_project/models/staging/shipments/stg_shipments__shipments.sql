with

source as (

    select * from {{ source('shipments', 'shipments') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- the logistics system re-sends the shipment on every status change: latest wins
    {{ latest_version('source', partition_by='shipment_id', order_by='updated_at desc, _business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        shipment_id,
        order_id,
        warehouse_id,

        ----------  attributes
        carrier,
        status,

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

)

select * from renamed
