{#- The content platforms' daily post metrics as last reported: one row per day, platform and
    post, the latest folder's report. stg_content__post_days is this over every folder.

    `since_landed_date` (a date literal): only the folders from that date on. A day's metrics
    land in their own day's folder or a later one (a late report restates them), so for the
    days from that date on these folders hold every report: their rows are the same as over
    every folder. A daily run reads its rebuilt dates through this (staged_for_run). -#}
{% macro post_days_as_reported(since_landed_date=none) -%}
    with

    source as (

        select * from {{ source('content', 'content_post_daily') }}
        where {{ not_held_back('_business_date') }}{{ landed_since(since_landed_date) }}

    ),

    versions as (

        -- a late report restates the day: the latest folder wins
        {{ latest_version('source', partition_by='stat_date, platform, post_id', order_by='_business_date desc, _line desc') }}

    ),

    renamed as (

        select
            ----------  ids
            {{ surrogate_key(['stat_date', 'platform', 'post_id']) }} as post_day_id,
            post_id,
            koc_id,
            koc_id is null as is_brand_owned,

            ----------  attributes
            platform,
            post_type,

            ----------  numerics (the day's increments)
            coalesce(impressions, 0) as impressions,
            coalesce(views, 0) as views,
            avg_watch_ratio,
            coalesce(likes, 0) as likes,
            coalesce(comments, 0) as comments,
            coalesce(shares, 0) as shares,
            coalesce(saves, 0) as saves,
            coalesce(link_clicks, 0) as link_clicks,
            coalesce(positive_comments, 0) as positive_comments,
            coalesce(negative_comments, 0) as negative_comments,

            ----------  dates
            publish_time,
            stat_date,

            ----------  lineage
            _business_date as last_landed_date

        from versions

    )

    select * from renamed
{%- endmacro %}
