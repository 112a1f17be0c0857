{#- The ad platforms' daily campaign reports as last reported: one row per day, platform,
    campaign and note, the latest folder's report. stg_ads__campaign_days is this over every
    folder.

    `since_landed_date` (a date literal): only the folders from that date on. A day's report
    lands in its own day's folder or a later one (a late report restates it), so for the days
    from that date on these folders hold every report: their rows are the same as over every
    folder. A daily run reads its rebuilt dates through this (staged_for_run). -#}
{% macro campaign_days_as_reported(since_landed_date=none) -%}
    with

    source as (

        select * from {{ source('ads', 'ad_platform_daily') }}
        where {{ not_held_back('_business_date') }}{{ landed_since(since_landed_date) }}

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
{%- endmacro %}
