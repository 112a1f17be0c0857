{#- The two ways a landing source is restated, written once for every staging model. -#}

{#- Change feeds and re-sent records: one row per key, the first in `order_by` order (the
    latest version). -#}
{% macro latest_version(relation, partition_by, order_by) -%}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as version_rank
        from {{ relation }}
    ) as ranked
    where version_rank = 1
{%- endmacro %}

{#- Full snapshots: the rows of the newest landing folder are the current state. -#}
{% macro latest_snapshot(relation) -%}
    select *
    from {{ relation }}
    where _business_date = (select max(_business_date) from {{ relation }})
{%- endmacro %}

{#- Every landed row of a source, the held-back folders' aside: what a staging model's
    latest-version macro (orders_as_landed, customers_as_landed) ranks by default. -#}
{% macro landed_rows(source_name, table_name) -%}
    select * from {{ source(source_name, table_name) }}
    where {{ not_held_back('_business_date') }}
{%- endmacro %}
