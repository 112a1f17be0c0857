{#- The customers whose dim_customers row a daily run rebuilds: those whose CRM record, first
    order or its last touch the run can change. A CRM version from a folder the run reads
    (a held-back folder takes back what it brought); a first order on a date whose orders,
    first orders or touch paths the run restates (order_path_dates, the dates fct_orders and
    fct_attribution rebuild), as the order is now and as the kept row has it (the flag can
    move to another order, or leave with a held-back date); a kept profile that came from a
    folder the run reads again (landed again, it may no longer hold that version). -#}
{% macro touched_customers() -%}
    select customer_key from {{ source('customers', 'customers') }}
    where {{ in_run_folders('_business_date') }} and customer_key is not null

    union

    select customer_key from {{ ref('fct_orders') }}
    where is_first_order and {{ order_path_dates('date_day') }}

    union

    select customer_key from {{ this }} as kept
    where {{ kept_customer_touched('kept') }}
{%- endmacro %}

{#- True for a kept dim_customers row (alias `kept`) a daily run can change: its first order is
    on a date the run restates, or its profile came from a folder the run reads again. -#}
{% macro kept_customer_touched(kept) -%}
    ({{ order_path_dates(kept ~ '.first_order_date') }} or {{ in_run_folders(kept ~ '.profile_landed_date') }})
{%- endmacro %}

{#- dim_customers' post-hook on DuckDB, in a daily run: a kept customer whom neither the CRM
    nor a paid order knows any more (their only CRM version's folder landed again without
    them, or held back; their only paid order gone) leaves. delete+insert replaces the
    touched customers that still have a row, and only those; the one left out keeps the row
    that touched them (touched_customers' kept rows). -#}
{% macro remove_unknown_customers() -%}
    {%- if target.type != 'spark' and is_daily_run() -%}
    delete from {{ this }} as kept
    where {{ kept_customer_touched('kept') }}
        and not exists (
            select 1 from {{ ref('int_customer_profiles') }} as profiles
            where profiles.customer_key = kept.customer_key
        )
        and not exists (
            select 1 from {{ ref('fct_orders') }} as orders
            where orders.customer_key = kept.customer_key and orders.is_first_order
        )
    {%- endif -%}
{%- endmacro %}

{#- The customers as the CRM last sent them: one row per customer, its latest version among
    `versions_sql` (a query of rows of the raw customers; by default every landed folder's),
    erased when any version asked to be. stg_customers__customers is this over every folder;
    int_customer_profiles ranks a daily run's versions against the kept ones with it. -#}
{% macro customers_as_landed(versions_sql=none) -%}
    {%- set versions_sql = versions_sql or landed_rows('customers', 'customers') -%}
    with

    source as (

        {{ versions_sql }}

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
{%- endmacro %}

{#- int_customer_profiles' post-hook on DuckDB, in a daily run: a customer whose kept version
    came from a folder the run re-reads and that folder no longer holds leaves: ranked again
    over all their versions, one with a version elsewhere was replaced, one with none was not. -#}
{% macro remove_unlanded_customers() -%}
    {%- if target.type != 'spark' and is_daily_run() -%}
    delete from {{ this }} as profiles
    where {{ in_run_folders('profiles.last_landed_date') }}
        and not exists (
            select 1 from {{ source('customers', 'customers') }} as landed
            where {{ not_held_back('landed._business_date') }}
                and {{ in_run_folders('landed._business_date') }}
                and landed.customer_key = profiles.customer_key
                and landed._business_date = profiles.last_landed_date
        )
    {%- endif -%}
{%- endmacro %}
