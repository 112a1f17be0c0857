with

source as (

    select * from {{ source('purchase_orders', 'purchase_orders') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- the ERP re-sends the whole order on every change: latest wins
    {{ latest_version('source', partition_by='po_id', order_by='updated_at desc, _business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        po_id,
        po_type,
        supplier_id,
        sku_id,

        ----------  status
        status,

        ----------  numerics
        qty_ordered,
        coalesce(qty_received, 0) as qty_received,
        unit_cost,

        ----------  dates and timestamps (naive Asia/Shanghai local time)
        ordered_at,
        promised_date,
        received_at,
        updated_at,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
