with

source as (

    select * from {{ source('suppliers', 'suppliers') }}
    where {{ not_held_back('_business_date') }}

),

latest_snapshot as (

    -- a full snapshot lands every day: the newest folder is the current supplier master
    {{ latest_snapshot('source') }}

),

renamed as (

    select
        ----------  ids
        supplier_id,
        backup_supplier_id,

        ----------  attributes
        name as supplier_name,
        region,
        tier,
        coalesce(certified, false) as is_certified,

        ----------  numerics
        payment_terms_days,

        ----------  dates
        _business_date as snapshot_date

    from latest_snapshot

)

select * from renamed
