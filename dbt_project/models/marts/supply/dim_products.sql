with

products as (

    select * from {{ ref('stg_products__products') }}

),

final as (

    select
        sku_id,
        spu_id,
        product_name,
        category,
        series,
        status,
        supplier_id,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(list_price as decimal(18, 2)) as list_price,
        cast(list_price - unit_cost as decimal(18, 2)) as unit_margin,
        launch_date,
        cast(shelf_life_days as integer) as shelf_life_days,
        snapshot_date
    from products

)

select * from final
