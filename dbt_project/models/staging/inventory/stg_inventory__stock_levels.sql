with

source as (

    select * from {{ source('inventory', 'inventory') }}

),

versions as (

    -- a stock figure restated in a later folder replaces the earlier one
    select
        *,
        row_number() over (
            partition by snapshot_date, warehouse_id, sku_id
            order by _business_date desc, _line desc
        ) as version_rank
    from source

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
    where version_rank = 1

)

select * from renamed
