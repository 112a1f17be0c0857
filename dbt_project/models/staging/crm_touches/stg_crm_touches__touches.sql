with

source as (

    select * from {{ source('crm_touches', 'crm_touches') }}
    where {{ not_held_back('_business_date') }}

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
