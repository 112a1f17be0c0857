{{ config(materialized='table') }}

{#- The business dates a daily run restates, and why: one row per (date_day, reason). Every
    incremental model rebuilds the dates of the reasons it depends on (`rebuilt_dates(...)`),
    so a day's run costs the dates its landing folders (and the held-back ones) touch: a late
    event restates its own day, a refund the day its order was paid. Empty outside a daily run:
    a full build rebuilds everything anyway.

    reason          a date is restated when the run's folders hold ...
    orders          a snapshot of an order paid on it
    first_orders    the first paid order of a customer those snapshots concern, as it was
                    before the run and as it is now, when a snapshot could move it (an order
                    paid no later than the first: a late order can take the flag)
    events          an event of that date
    ads             an ad platform's report of that date
    content         a post's metrics of that date
    inventory       a stock level of that snapshot date (a late or restated figure)
    shipments       a version of a shipment shipped on it (a later delivery, exception or
                    return restates its ship date)
    purchase_orders a version of a purchase order ordered or received on it
    surveys         a survey response of that date
    listening       a social-listening report (mentions or keyword co-mentions) of that date
    crm_touches     a report of a CRM touch sent on it (a later open or click restates it)
    loyalty         a points movement that occurred on it
    referrals       an invitation sent on it
-#}

{%- set changes = [
    ('events', source('events', 'events'), 'cast(event_time as date)'),
    ('ads', source('ads', 'ad_platform_daily'), 'date_day'),
    ('content', source('content', 'content_post_daily'), 'stat_date'),
    ('inventory', source('inventory', 'inventory'), 'snapshot_date'),
    ('shipments', source('shipments', 'shipments'), 'cast(shipped_at as date)'),
    ('purchase_orders', source('purchase_orders', 'purchase_orders'), 'cast(ordered_at as date)'),
    ('purchase_orders', source('purchase_orders', 'purchase_orders'), 'cast(received_at as date)'),
    ('surveys', source('surveys', 'survey_responses'), 'cast(responded_at as date)'),
    ('listening', source('listening', 'social_listening'), 'date_day'),
    ('crm_touches', source('crm_touches', 'crm_touches'), 'cast(sent_at as date)'),
    ('loyalty', source('loyalty', 'loyalty_points'), 'cast(occurred_at as date)'),
    ('referrals', source('referrals', 'referrals'), 'cast(invited_at as date)'),
] -%}

with

{% if run_var('start_date') %}

landed_orders as (

    select order_id, customer_key, paid_at, _business_date
    from {{ source('orders', 'orders') }}
    where {{ not_held_back('_business_date') }}

),

{#- held-back folders are not in landed_orders, but what they touched is restated -#}
run_folders_orders as (

    select order_id, customer_key, paid_at
    from {{ source('orders', 'orders') }}
    where {{ in_run_folders('_business_date') }}

),

touched_customers as (

    select distinct customer_key from run_folders_orders where customer_key is not null

),

customer_paid_orders as (

    select landed_orders.*
    from landed_orders
    inner join touched_customers on landed_orders.customer_key = touched_customers.customer_key
    where landed_orders.paid_at is not null

),

run_paid_orders as (

    -- what the run's folders say of each order they hold, and what earlier folders said (an
    -- order paid before may land unpaid, or in a held-back folder)
    select customer_key, order_id, paid_at from run_folders_orders
    where customer_key is not null and paid_at is not null

    union all

    select customer_key, order_id, paid_at from customer_paid_orders
    where order_id in (select order_id from run_folders_orders)

),

first_paid_moves as (

    -- a customer's first paid order over the folders before the run, and over all of them
    select
        customer_key,
        min(case
            when _business_date < cast('{{ run_var("start_date") }}' as date) then paid_at
        end) as first_paid_before,
        min(paid_at) as first_paid_now
    from customer_paid_orders
    group by customer_key

),

run_first_paid as (

    select customer_key, min(paid_at) as first_run_paid_at
    from run_paid_orders
    group by customer_key

),

moved_first_paid as (

    -- the flag can only have moved if an order of the run's folders was paid no later than
    -- the first one: a returning customer's new order leaves it where it was
    select first_paid_moves.*
    from first_paid_moves
    inner join run_first_paid on first_paid_moves.customer_key = run_first_paid.customer_key
    where run_first_paid.first_run_paid_at <= first_paid_moves.first_paid_now

),

first_paid as (

    select customer_key, first_paid_before as first_paid_at from moved_first_paid
    union all
    select customer_key, first_paid_now as first_paid_at from moved_first_paid

),

changes as (

    select cast(paid_at as date) as date_day, 'orders' as reason
    from run_folders_orders
    where paid_at is not null

    union all

    select cast(first_paid_at as date) as date_day, 'first_orders' as reason
    from first_paid

    {%- for reason, relation, date_expression in changes %}

    union all

    select {{ date_expression }} as date_day, '{{ reason }}' as reason
    from {{ relation }}
    where {{ in_run_folders('_business_date') }}
    {%- endfor %}

),

{% else %}

changes as (

    select cast(null as date) as date_day, cast(null as {{ dbt.type_string() }}) as reason
    where 1 = 0

),

{% endif %}

final as (

    select distinct date_day, reason from changes where date_day is not null

)

select * from final
