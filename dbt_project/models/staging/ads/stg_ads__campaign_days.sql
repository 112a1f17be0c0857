with

source as (

    select * from {{ source('ads', 'ad_platform_daily') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- a late report (a folder holding D-1..D-3) restates the day: the latest folder wins
    {{ latest_version('source', partition_by='date_day, platform, campaign_id, note_id', order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        {{ surrogate_key(['date_day', 'platform', 'campaign_id', 'note_id']) }} as campaign_day_id,
        campaign_id,
        note_id,

        ----------  attributes
        platform,
        channel,
        campaign_name,

        ----------  numerics
        coalesce(impressions, 0) as impressions,
        coalesce(clicks, 0) as clicks,
        coalesce(spend, 0) as spend,
        platform_orders,
        platform_gmv,
        engagements,

        ----------  dates
        date_day,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
