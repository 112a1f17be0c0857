{#- DuckDB's vacuum, for this invocation: off when a Dagster run says so (run var `vacuum`,
    decided by orchestration/lib/vacuum.py from the tables' deleted rows), else DuckDB's
    default (on). Global: dbt's threads share one DuckDB database, whose checkpoints (at a
    commit past the WAL threshold, and when dbt exits) are where the vacuum runs. -#}
{% macro warehouse_vacuum() -%}
    {%- if target.type == 'duckdb' and run_var('vacuum') == false -%}
        set global max_vacuum_tasks = 0
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
