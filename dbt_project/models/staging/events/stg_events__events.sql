with

source as (

    select
        *,
        cast(event_time as date) as event_date
    from {{ source('events', 'events') }}
    where {{ not_held_back('_business_date') }}

),

repeated as (

    -- the SDK retries: an event_id seen again in a later folder is the same event, kept from
    -- the folder it first landed in (the loader keeps one per folder). Found by aggregating
    -- the ids alone: a window over whole events sorted every column of every event (a large
    -- day: 32 s against 1 s). A retry carries its event's time, so the date is part of the
    -- key, and a reader asking for some event dates aggregates only those.
    select event_id, event_date, min(_business_date) as first_landed_date
    from source
    group by event_id, event_date
    having count(*) > 1

),

arrivals as (

    select source.*
    from source
    left join repeated
        on source.event_id = repeated.event_id and source.event_date = repeated.event_date
    where repeated.event_id is null or source._business_date = repeated.first_landed_date

),

renamed as (

    select
        ----------  ids
        event_id,
        event_type,
        anonymous_id,
        customer_key,
        session_id,

        ----------  touchpoint and attribution
        platform,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        referrer_customer_key,
        page_url,

        ----------  what the event concerns
        sku_id,
        order_id,

        ----------  visitor context
        province,
        city,
        device_os,
        experiment_id,
        variant,

        ----------  timestamps (naive Asia/Shanghai local time)
        event_time,
        event_date,

        ----------  lineage
        _business_date as landed_date

    from arrivals

)

select * from renamed
