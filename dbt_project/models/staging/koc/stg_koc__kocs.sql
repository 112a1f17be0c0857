with

source as (

    select * from {{ source('koc', 'koc_roster') }}
    where {{ not_held_back('_business_date') }}

),

latest_snapshot as (

    -- a full roster lands every day: the newest folder is the current roster
    {{ latest_snapshot('source') }}

),

renamed as (

    select
        ----------  ids
        koc_id,

        ----------  attributes
        platform,
        nickname,
        category,
        city,
        cooperation,

        ----------  numerics
        followers,
        coalesce(fee_per_post, 0) as fee_per_post,
        coalesce(commission_rate, 0) as commission_rate,

        ----------  dates
        joined_date,
        _business_date as snapshot_date

    from latest_snapshot

)

select * from renamed
