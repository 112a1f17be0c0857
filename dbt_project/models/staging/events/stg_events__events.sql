with

source as (

    select * from {{ source('events', 'events') }}

),

arrivals as (

    -- the SDK retries: an event_id seen again in a later folder is the same event
    select
        *,
        row_number() over (
            partition by event_id
            order by _business_date, _source_file, _line
        ) as arrival_rank
    from source

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
    where arrival_rank = 1

)

select * from renamed
