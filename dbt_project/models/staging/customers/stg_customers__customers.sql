with

source as (

    select * from {{ source('customers', 'customers') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- the CRM re-sends the whole record on every change: latest wins
    select
        *,
        row_number() over (
            partition by customer_key
            order by updated_at desc, _business_date desc, _line desc
        ) as version_rank,
        -- an erasure request is final, even if an older-looking record follows it
        max(case when deleted then 1 else 0 end) over (partition by customer_key) as erased_flag
    from source

),

renamed as (

    select
        ----------  ids (pseudonymous; the CRM customer_id itself stays in raw)
        customer_key,
        phone_hash,
        wechat_unionid_hash,

        ----------  attributes (NULL once erased: the loader purges them in raw)
        gender,
        birth_year,
        province,
        city,
        register_channel,
        member_tier,

        ----------  flags
        coalesce(wecom_added, false) as is_wecom_added,
        coalesce(opt_out_marketing, false) as is_opted_out_marketing,
        erased_flag = 1 as is_erased,

        ----------  timestamps (naive Asia/Shanghai local time)
        registered_at,
        updated_at,

        ----------  lineage
        _business_date as last_landed_date

    from versions
    where version_rank = 1

)

select * from renamed
