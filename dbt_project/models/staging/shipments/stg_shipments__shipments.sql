with

source as (

    select * from {{ source('shipments', 'shipments') }}

),

versions as (

    -- the logistics system re-sends the shipment on every status change: latest wins
    select
        *,
        row_number() over (
            partition by shipment_id
            order by updated_at desc, _business_date desc, _line desc
        ) as version_rank
    from source

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
    where version_rank = 1

)

select * from renamed
