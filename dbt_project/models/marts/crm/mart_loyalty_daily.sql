{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Points and referrals per day (marts.md): points issued (positive movements) by reason,
    redeemed and expired (negative ones, as positive numbers), the outstanding balance (every
    movement in the warehouse up to the day: the ledger has no opening balance) and its
    liability at the seed's point value, members whose points moved in the trailing window
    (seed crm_thresholds, loyalty_active_days), and the day's referral invitations with those
    that brought a registered customer. Days are Asia/Shanghai dates of the movement or
    invitation. -#}

with

thresholds as (

    select
        max(case when threshold = 'loyalty_active_days' then value end) as active_days,
        max(case when threshold = 'point_value_yuan' then value end) as point_value_yuan
    from {{ ref('crm_thresholds') }}

),

ledger as (

    select * from {{ ref('stg_loyalty__ledger_entries') }}

),

referrals as (

    select * from {{ ref('stg_referrals__referrals') }}

),

points as (

    select
        occurred_date as date_day,
        sum(case when points_delta > 0 then points_delta else 0 end) as points_issued,
        sum(case when points_delta > 0 and reason = 'purchase' then points_delta else 0 end)
            as points_issued_purchase,
        sum(case when points_delta > 0 and reason = 'referral' then points_delta else 0 end)
            as points_issued_referral,
        sum(case when points_delta > 0 and reason = 'review' then points_delta else 0 end)
            as points_issued_review,
        sum(case when points_delta < 0 and reason = 'redeem' then -points_delta else 0 end)
            as points_redeemed,
        sum(case when points_delta < 0 and reason = 'expire' then -points_delta else 0 end)
            as points_expired,
        sum(points_delta) as points_net
    from ledger
    group by occurred_date

),

invitations as (

    select
        invited_date as date_day,
        count(*) as referral_invitations,
        sum(case when invitee_customer_key is not null then 1 else 0 end) as referral_conversions
    from referrals
    group by invited_date

),

days as (

    select date_day from points
    union
    select date_day from invitations

),

written_days as (

    -- the days the run writes: every day in a full build; in a daily run, a restated movement
    -- changes the balance and the active members of every later day. Active members are
    -- counted for these alone: over every day, the trailing-window join grew with the ledger
    select date_day from days
    {%- if is_daily_run() %}
    where date_day >= (
            select min(date_day) from {{ ref('int_rebuilt_dates') }} where reason = 'loyalty'
        )
        or date_day in {{ rebuilt_dates(['referrals']) }}
    {%- endif %}

),

active as (

    select
        days.date_day,
        count(distinct ledger.customer_key) as active_members
    from written_days as days
    cross join thresholds
    inner join ledger
        on ledger.occurred_date
        between {{ add_days('days.date_day', '1 - thresholds.active_days') }} and days.date_day
    group by days.date_day

),

combined as (

    select
        days.date_day,
        coalesce(points.points_issued, 0) as points_issued,
        coalesce(points.points_issued_purchase, 0) as points_issued_purchase,
        coalesce(points.points_issued_referral, 0) as points_issued_referral,
        coalesce(points.points_issued_review, 0) as points_issued_review,
        coalesce(points.points_redeemed, 0) as points_redeemed,
        coalesce(points.points_expired, 0) as points_expired,
        sum(coalesce(points.points_net, 0)) over (
            order by days.date_day rows between unbounded preceding and current row
        ) as points_outstanding,
        coalesce(active.active_members, 0) as active_members,
        coalesce(invitations.referral_invitations, 0) as referral_invitations,
        coalesce(invitations.referral_conversions, 0) as referral_conversions
    from days
    left join points on days.date_day = points.date_day
    left join active on days.date_day = active.date_day
    left join invitations on days.date_day = invitations.date_day

),

final as (

    select
        combined.date_day,
        cast(combined.points_issued as bigint) as points_issued,
        cast(combined.points_issued_purchase as bigint) as points_issued_purchase,
        cast(combined.points_issued_referral as bigint) as points_issued_referral,
        cast(combined.points_issued_review as bigint) as points_issued_review,
        cast(combined.points_redeemed as bigint) as points_redeemed,
        cast(combined.points_expired as bigint) as points_expired,
        cast(combined.points_outstanding as bigint) as points_outstanding,
        cast(
            cast(combined.points_outstanding as decimal(18, 0))
            * cast(thresholds.point_value_yuan as decimal(18, 6))
            as decimal(18, 2)
        ) as points_liability,
        cast(combined.active_members as bigint) as active_members,
        cast(combined.referral_invitations as bigint) as referral_invitations,
        cast(combined.referral_conversions as bigint) as referral_conversions,
        cast(combined.referral_conversions as double)
        / nullif(combined.referral_invitations, 0) as referral_conversion_rate
    from combined
    cross join thresholds
    where {{ not_held_back('combined.date_day') }}
        and combined.date_day in (select date_day from written_days)

)

select * from final
