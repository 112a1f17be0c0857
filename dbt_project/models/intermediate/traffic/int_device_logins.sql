{{ config(**incremental_by_date('session_date')) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{# Identity stitching's evidence: each day a device was logged in as a customer (any session
    that carried both its anonymous_id and a customer_key), and when first. -#}

select
    session_date,
    anonymous_id,
    customer_key,
    min(started_at) as first_login_at
from {{ ref('int_sessions') }}
where customer_key is not null
{%- if is_daily_run() %}
    and session_date in {{ rebuilt_dates(['events']) }}
{%- endif %}
group by session_date, anonymous_id, customer_key
