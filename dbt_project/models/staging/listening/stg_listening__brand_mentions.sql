with

source as (

    select * from {{ source('listening', 'social_listening') }}
    where report = 'brand_mentions'
        and {{ not_held_back('_business_date') }}

),

versions as (

    -- a late report restates the day: the latest folder wins
    {{ latest_version('source', partition_by='date_day, platform, brand', order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        {{ surrogate_key(['date_day', 'platform', 'brand']) }} as brand_mention_id,
        platform,
        brand,

        ----------  numerics
        coalesce(mentions, 0) as mentions,
        coalesce(positive, 0) as positive_mentions,
        coalesce(neutral, 0) as neutral_mentions,
        coalesce(negative, 0) as negative_mentions,
        search_index,

        ----------  dates
        date_day,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
