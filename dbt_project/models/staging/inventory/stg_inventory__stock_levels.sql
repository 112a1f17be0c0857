with

source as (

    select * from {{ source('inventory', 'inventory') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- a stock figure restated in a later folder replaces the earlier one
    {{ latest_version('source', partition_by='snapshot_date, warehouse_id, sku_id', order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        {{ surrogate_key(['snapshot_date', 'warehouse_id', 'sku_id']) }} as stock_level_id,
        warehouse_id,
        sku_id,

        ----------  numerics
        on_hand,
        coalesce(reserved, 0) as reserved,
        on_hand - coalesce(reserved, 0) as available,
        coalesce(in_transit, 0) as in_transit,
        safety_stock,

        ----------  dates
        snapshot_date,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
