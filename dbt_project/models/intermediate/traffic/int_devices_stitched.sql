{#- Identity stitching: a device belongs to the customer it was first logged in as, and every
    session of that device, before the login too, counts for that customer. A view over the
    (small) daily logins. -#}

with

ranked as (

    select
        anonymous_id,
        customer_key,
        first_login_at,
        row_number() over (
            partition by anonymous_id order by first_login_at, customer_key
        ) as login_rank
    from {{ ref('int_device_logins') }}

)

select anonymous_id, customer_key, first_login_at as stitched_at
from ranked
where login_rank = 1
