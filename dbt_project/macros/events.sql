{#- The SDK's events as they arrived: one row per event, from the landing folder it first
    landed in (stg_events__events is this, over every folder).

    `since_landed_date` (a date literal): only the folders from that date on. An event lands in
    its own date's folder or a later one, so every landing of the events dated from then on is
    in those folders, and their first landing is the same as over every folder. A daily run
    reads its rebuilt event dates through this: a filter from outside the view reaches the
    events' own folders but not the retries' aggregation, which read a year of events for
    every reader (int_sessions reads three times). -#}
{% macro events_as_arrived(since_landed_date=none) -%}
    with

    source as (

        select
            *,
            cast(event_time as date) as event_date
        from {{ source('events', 'events') }}
        where {{ not_held_back('_business_date') }}{{ landed_since(since_landed_date) }}

    ),

    landings as (

        -- where each event landed: three columns of the raw events, read apart from `source` so
        -- that DuckDB streams `source` once instead of materializing every column of it
        select event_id, cast(event_time as date) as event_date, _business_date
        from {{ source('events', 'events') }}
        where {{ not_held_back('_business_date') }}{{ landed_since(since_landed_date) }}

    ),

    late_landings as (

        -- the SDK retries: an event_id seen again in a later folder is the same event, kept from
        -- the folder it first landed in (the loader keeps one per folder). Of two folders, one at
        -- most is the event's own date, so every retried event has a landing after its date: only
        -- those few ids are aggregated (a large day: 9M ids aggregated took 3 s, three times over
        -- in int_sessions; a window over whole events 32 s). A retry carries its event's time, so
        -- the date is part of the key, and a reader asking for some event dates reads only those.
        select distinct event_id, event_date
        from landings
        where event_date <> _business_date

    ),

    repeated as (

        select landings.event_id, landings.event_date, min(landings._business_date) as first_landed_date
        from landings
        inner join late_landings
            on landings.event_id = late_landings.event_id
            and landings.event_date = late_landings.event_date
        group by landings.event_id, landings.event_date
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
{%- endmacro %}
