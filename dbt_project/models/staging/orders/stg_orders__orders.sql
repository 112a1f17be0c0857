with

source as (

    select * from {{ source('orders', 'orders') }}
    where {{ not_held_back('_business_date') }}

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
