with

source as (

    select * from {{ source('loyalty', 'loyalty_points') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- a ledger entry re-sent in a later folder is the same movement: count it once
    {{ latest_version('source', partition_by='ledger_id', order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        ledger_id,
        customer_key,

        ----------  attributes
        reason,

        ----------  numerics
        points_delta,

        ----------  timestamps (naive Asia/Shanghai local time)
        occurred_at,
        cast(occurred_at as date) as occurred_date,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
