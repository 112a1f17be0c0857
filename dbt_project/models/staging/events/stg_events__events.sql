with

source as (

    select * from {{ source('events', 'events') }}
    where {{ not_held_back('_business_date') }}

),

repeated as (

    -- the SDK retries: an event_id seen again in a later folder is the same event, kept from
    -- the folder it first landed in (the loader keeps one per folder). Found by aggregating
    -- the ids alone: a window over whole events sorted every column of every event (a large
    -- day: 32 s against 1 s)
    select event_id, min(_business_date) as first_landed_date
    from source
    group by event_id
    having count(*) > 1

),

arrivals as (

    select source.*
    from source
    left join repeated on source.event_id = repeated.event_id
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
        cast(event_time as date) as event_date,

        ----------  lineage
        _business_date as landed_date

    from arrivals

)

select * from renamed
