{%- set model_config = incremental_by_key('customer_key') -%}
{%- do model_config.update({'post_hook': ["{{ remove_unlanded_customers() }}"]}) -%}
{{ config(**model_config) }}

{#- Every customer in their latest CRM version (stg_customers__customers), kept per customer: a
    daily run ranks only the versions its own folders bring against the version the table
    holds, where the view ranks a year of versions (514,131 after a year, 365 files) on every
    read. A customer whose version came from a folder the run re-reads (a re-run, a folder
    held back) is ranked again over all their versions. -#}
-- a daily run reads {{ source('customers', 'customers') }} itself

{% if is_daily_run() %}

{#- asked at run time: a night that re-reads no folder it read before (most) ranks no
    customer again, and skips the read of every folder that ranking needs -#}
{%- set reranked_sql -%}
    select customer_key from {{ this }}
    where {{ in_run_folders('last_landed_date') }}
{%- endset -%}
{%- set reranks = execute
    and run_query('select count(*) from (' ~ reranked_sql ~ ')').columns[0].values()[0] > 0 %}

with

reranked as (

    {{ reranked_sql }}

),

run_customers as (

    select customer_key from {{ source('customers', 'customers') }}
    where {{ not_held_back('_business_date') }} and {{ in_run_folders('_business_date') }}

),

{%- set run_versions -%}
    select * from {{ source('customers', 'customers') }}
    where {{ not_held_back('_business_date') }} and {{ in_run_folders('_business_date') }}

    {%- if reranks %}

    union all by name

    select * from {{ source('customers', 'customers') }}
    where {{ not_held_back('_business_date') }} and not {{ in_run_folders('_business_date') }}
        and customer_key in (select customer_key from reranked)
    {%- endif %}

    union all by name

    -- the version the table holds, as a raw version, for the customers the run's folders
    -- bring a version of (it came from an earlier folder: their landing dates differ); an
    -- erased customer's kept row carries the erasure, which stays final
    select
        * rename (
            is_wecom_added as wecom_added,
            is_opted_out_marketing as opt_out_marketing,
            is_erased as deleted,
            last_landed_date as _business_date
        ),
        cast(0 as bigint) as _line
    from {{ this }}
    where customer_key in (select customer_key from run_customers)
        and customer_key not in (select customer_key from reranked)
{%- endset %}

profiles as (

    {{ customers_as_landed(run_versions) }}

)

select * from profiles

{% else %}

select * from {{ ref('stg_customers__customers') }}

{% endif %}
