with

source as (

    select * from {{ source('referrals', 'referrals') }}

),

versions as (

    -- an invitation repeated in a later folder is the same invitation: the latest report wins
    select
        *,
        row_number() over (
            partition by referral_id
            order by _business_date desc, _line desc
        ) as version_rank
    from source

),

renamed as (

    select
        ----------  ids
        referral_id,
        inviter_customer_key,
        invitee_customer_key,
        invitee_anonymous_id,

        ----------  attributes
        activity,

        ----------  numerics
        coalesce(reward_points, 0) as reward_points,

        ----------  timestamps (naive Asia/Shanghai local time)
        invited_at,
        cast(invited_at as date) as invited_date,

        ----------  lineage
        _business_date as last_landed_date

    from versions
    where version_rank = 1

)

select * from renamed
