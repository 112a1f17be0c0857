with

source as (

    select * from {{ source('referrals', 'referrals') }}
    where {{ not_held_back('_business_date') }}

),

versions as (

    -- an invitation repeated in a later folder is the same invitation: the latest report wins
    {{ latest_version('source', partition_by='referral_id', order_by='_business_date desc, _line desc') }}

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

)

select * from renamed
