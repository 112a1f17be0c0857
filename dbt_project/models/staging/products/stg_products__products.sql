with

source as (

    select * from {{ source('products', 'products') }}
    where {{ not_held_back('_business_date') }}

),

latest_snapshot as (

    -- a full snapshot lands every day: the newest folder is the current catalogue
    {{ latest_snapshot('source') }}

),

renamed as (

    select
        ----------  ids
        sku_id,
        spu_id,
        supplier_id,

        ----------  attributes
        name as product_name,
        category,
        series,
        status,
        shelf_life_days,

        ----------  numerics
        unit_cost,
        list_price,

        ----------  dates
        launch_date,
        _business_date as snapshot_date

    from latest_snapshot

)

select * from renamed
