{#- The CRM touches as last reported: one row per touch, its most advanced report.
    stg_crm_touches__touches is this over every folder.

    `since_landed_date` (a date literal): only the folders from that date on. A touch's reports
    land in the folder of its send date or a later one, so for the touches sent from that date
    on these folders hold every report: their rows are the same as over every folder. A daily
    run reads its rebuilt send dates through this (staged_for_run). -#}
{% macro touches_as_reported(since_landed_date=none) -%}
    with

    source as (

        select * from {{ source('crm_touches', 'crm_touches') }}
        where {{ not_held_back('_business_date') }}{{ landed_since(since_landed_date) }}

    ),

    versions as (

        -- no updated_at, but engagement only moves forward: the most advanced report is the
        -- latest, in whatever folder it came (a stale report re-sent later does not undo a click);
        -- between equally advanced reports the latest folder's (the loader kept one per folder
        -- the same way)
        {{ latest_version('source', partition_by='touch_id', order_by='clicked_at desc nulls last, opened_at desc nulls last, delivered desc nulls last, _business_date desc, _line desc') }}

    ),

    renamed as (

        select
            ----------  ids
            touch_id,
            customer_key,
            campaign_id,

            ----------  attributes
            channel,
            content_type,

            ----------  engagement
            coalesce(delivered, 0) = 1 as is_delivered,
            opened_at is not null as is_opened,
            clicked_at is not null as is_clicked,

            ----------  timestamps (naive Asia/Shanghai local time)
            sent_at,
            opened_at,
            clicked_at,
            cast(sent_at as date) as sent_date,

            ----------  lineage
            _business_date as last_landed_date

        from versions

    )

    select * from renamed
{%- endmacro %}
