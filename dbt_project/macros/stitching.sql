{#- Identity stitching: a device belongs to the customer it was first logged in as, and every
    session of that device, before the login too, counts for that customer. Over `logins` (a
    relation or a parenthesized query of int_device_logins' rows): int_devices_stitched is this
    over every login; a daily run's int_order_touches ranks only its buyers' devices. -#}
{% macro devices_stitched(logins) -%}
    select anonymous_id, customer_key, first_login_at as stitched_at
    from (
        select
            anonymous_id,
            customer_key,
            first_login_at,
            row_number() over (
                partition by anonymous_id order by first_login_at, customer_key
            ) as login_rank
        from {{ logins }} as logins
    ) as ranked
    where login_rank = 1
{%- endmacro %}
