with

source as (

    select * from {{ source('koc', 'koc_roster') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- a full roster lands every day: a month's figures are those of its last snapshot
    {{ latest_version('source', partition_by='koc_id, ' ~ month_start('_business_date'), order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        koc_id,

        ----------  numerics
        followers,

        ----------  dates
        {{ month_start('_business_date') }} as month_start,
        _business_date as snapshot_date

    from versions

)

select * from renamed
