with

source as (

    select * from {{ source('listening', 'social_listening') }}
    where report = 'keyword_associations'
        and {{ not_held_back('_business_date') }}

),

versions as (

    -- a late report restates the day: the latest folder wins
    {{ latest_version('source', partition_by='date_day, platform, brand, keyword', order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        {{ surrogate_key(['date_day', 'platform', 'brand', 'keyword']) }} as keyword_association_id,
        platform,
        brand,
        keyword,

        ----------  numerics
        coalesce(co_mentions, 0) as co_mentions,

        ----------  dates
        date_day,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
