{#- What a Dagster run tells dbt: the business dates of its landing folders
    (`start_date`..`end_date`; unset: a full build of every date) and the dates a gate of the
    landed data failed (`held_back_dates`, from the gate ledger). A held-back date's landing
    folders stay out of every model, and its date out of every mart, until a run of that date
    passes its gates. -#}

{#- One of those three, as a var (`dbt build --vars '{start_date: ...}'` by hand) or, when the
    var is unset, from GROWTH_DBT_RUN_SCOPE (JSON), where the Dagster asset puts them
    (assets/dbt/definitions.py). The environment is read while models execute, never while dbt
    parses: vars on the command line make dbt parse the whole project again on every run (6 s),
    while the run scope in the environment leaves its partial parsing in place. -#}
{% macro run_var(name) -%}
    {%- set value = var(name) -%}
    {%- if execute and (value is none or value == []) -%}
        {%- set scope = env_var('GROWTH_DBT_RUN_SCOPE', '') -%}
        {%- if scope -%}
            {%- set value = fromjson(scope).get(name, value) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro held_back_dates() -%}
    {{ return(run_var('held_back_dates') or []) }}
{%- endmacro %}

{% macro date_list(values) -%}
    {%- for value in values -%}
        cast('{{ value }}' as date){% if not loop.last %}, {% endif %}
    {%- endfor -%}
{%- endmacro %}

{#- True for a row whose date (a landing folder, or a mart's date) is not held back. -#}
{% macro not_held_back(column) -%}
    {%- set held = held_back_dates() -%}
    {%- if held -%}
        ({{ column }} not in ({{ date_list(held) }}))
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- A daily run (an incremental model rebuilding what the run's folders touched), not a full
    build. -#}
{% macro is_daily_run() -%}
    {{ return(is_incremental() and run_var('start_date') is not none) }}
{%- endmacro %}

{#- True for a row from a landing folder the run must re-read: its own dates, and the held-back
    dates (whose rows must leave what they touched). True for every row of a full build. -#}
{% macro in_run_folders(column) -%}
    {%- if run_var('start_date') -%}
        ({{ column }} between cast('{{ run_var("start_date") }}' as date)
            and cast('{{ run_var("end_date") or run_var("start_date") }}' as date)
        {%- if held_back_dates() %} or {{ column }} in ({{ date_list(held_back_dates()) }}){% endif %})
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- The config of a model rebuilt by date: a run replaces exactly the dates it rebuilds, with
    delete+insert on DuckDB and insert_overwrite of date partitions on Spark. A mart
    (`hold_back=true`) also drops the held-back dates, so it holds only dates that passed. -#}
{#- `clustered_by` (meta): the date column the table's rows are kept in order of on DuckDB, where
    a build of many dates at once (a backfill) leaves them in no order and the Dagster asset
    sorts them again (orchestration/lib/clustering.py); on Spark the date partitions do that. -#}
{#- `tested_by_rebuilt_dates`: the reasons (int_rebuilt_dates) whose dates the model rebuilds,
    for a model whose tests cannot fail across dates: a daily run's data tests then read its
    rows from the earliest of those dates on (macro get_where_subquery), not from the earliest
    date any source restated (a late purchase order weeks back re-read weeks of sessions). -#}
{% macro incremental_by_date(date_column, hold_back=false, tested_by_rebuilt_dates=none) -%}
    {%- if target.type == 'spark' -%}
        {%- set config = {'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite',
                          'partition_by': [date_column], 'on_schema_change': 'fail'} -%}
    {%- else -%}
        {%- set config = {'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
                          'unique_key': date_column, 'on_schema_change': 'fail'} -%}
    {%- endif -%}
    {%- if hold_back -%}
        {%- do config.update({'post_hook': ["{{ remove_held_back_dates('" ~ date_column ~ "') }}"]}) -%}
    {%- endif -%}
    {%- set meta = {'clustered_by': date_column} -%}
    {%- if tested_by_rebuilt_dates -%}
        {%- if tested_by_rebuilt_dates is string or tested_by_rebuilt_dates is not iterable -%}
            {{ exceptions.raise_compiler_error("tested_by_rebuilt_dates takes the list of reasons whose dates the model rebuilds, got " ~ tested_by_rebuilt_dates) }}
        {%- endif -%}
        {%- do meta.update({'tested_by_rebuilt_dates': date_column,
                            'rebuilt_for': tested_by_rebuilt_dates | list}) -%}
    {%- endif -%}
    {%- do config.update({'meta': meta}) -%}
    {{ return(config) }}
{%- endmacro %}

{#- The config of a model kept per key (a customer): on DuckDB a run replaces the keys it
    touched (delete+insert); Spark's Parquet tables cannot replace rows by key, so there the
    model is rebuilt whole, which a cluster affords. -#}
{% macro incremental_by_key(key_column) -%}
    {%- if target.type == 'spark' -%}
        {{ return({'materialized': 'table'}) }}
    {%- else -%}
        {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
                   'unique_key': key_column, 'on_schema_change': 'fail'}) }}
    {%- endif -%}
{%- endmacro %}

{% macro remove_held_back_dates(date_column) -%}
    {{ return(adapter.dispatch('remove_held_back_dates', 'growth')(date_column)) }}
{%- endmacro %}

{% macro default__remove_held_back_dates(date_column) -%}
    {%- if held_back_dates() -%}
        delete from {{ this }} where {{ date_column }} in ({{ date_list(held_back_dates()) }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro spark__remove_held_back_dates(date_column) -%}
    {%- if held_back_dates() -%}
        alter table {{ this }} drop if exists
        {%- for value in held_back_dates() %} partition ({{ date_column }} = '{{ value }}'){% if not loop.last %},{% endif %}{% endfor %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The row count of the table a model or seed has just built, for Dagster's `dagster/row_count`
    (a post-hook of every model and seed): a Dagster run on DuckDB gives the folder in its run
    scope (`row_counts_dir`), and each count is a file there, `<unique_id>.csv`, written before
    dbt reports the node. The run then passes on each node's events while dbt goes on, instead
    of holding all of them until dbt exits and the warehouse file is free to count in (its
    ~400 events took Dagster 10 s after dbt). No folder (a build by hand, Spark): nothing. -#}
{% macro record_row_count() -%}
    {%- set folder = run_var('row_counts_dir') if execute else none -%}
    {%- if folder and target.type == 'duckdb'
        and config.get('materialized') in ('table', 'incremental', 'seed') -%}
        copy (select count(*) as row_count from {{ this }})
        to '{{ folder | replace("'", "''") }}/{{ model.unique_id }}.csv' (format csv, header false)
    {%- endif -%}
{%- endmacro %}
