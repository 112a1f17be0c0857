with

source as (

    select * from {{ source('surveys', 'survey_responses') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- a response re-sent in a later folder is the same response: count it once
    {{ latest_version('source', partition_by='response_id', order_by='_business_date desc, _line desc') }}

),

renamed as (

    select
        ----------  ids
        response_id,
        customer_key,

        ----------  attributes
        survey,
        associations,

        ----------  scores
        nps_score,
        case
            when nps_score >= 9 then 'promoter'
            when nps_score >= 7 then 'passive'
            when nps_score >= 0 then 'detractor'
        end as nps_group,
        aware_unaided = 1 as is_aware_unaided,
        aware_aided = 1 as is_aware_aided,
        rating_reputation,

        ----------  timestamps (naive Asia/Shanghai local time)
        responded_at,
        cast(responded_at as date) as responded_date,

        ----------  lineage
        _business_date as last_landed_date

    from versions

)

select * from renamed
