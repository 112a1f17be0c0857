{#- The `raw` schema every source reads, on the engine of the run (an on-run-start hook).

    DuckDB: nothing to do, the loader keeps `raw.<table>` current in the warehouse file.
    Spark: one view per source over the same Parquet data files of the raw lake
    ($GROWTH_RAW_LAKE), showing the rows DuckDB's view shows: the files of the last committed
    load of each date (the loader's `_manifest/<table>.data_files.parquet`), without the
    invalid rows (`_reason`) and the dropped duplicates (`_manifest/<table>.duplicates.parquet`).
    Erasures are already applied in the files. A record's line is its position in its data
    file, as in DuckDB. -#}
{% macro create_raw_views() -%}
    {{ return(adapter.dispatch('create_raw_views', 'growth')()) }}
{%- endmacro %}

{% macro default__create_raw_views() -%}
    select 1
{%- endmacro %}

{% macro spark__create_raw_views() -%}
    {%- if execute -%}
        {%- set lake = env_var('GROWTH_RAW_LAKE') -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for source in graph.sources.values() if source.schema == 'raw' -%}
            {%- set table = source.identifier -%}
            {%- do run_query(spark_raw_view_sql(lake, table)) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro spark_raw_view_sql(lake, table) -%}
    create or replace view raw.{{ table }} as
    select data.*
    from (
        select
            *,
            -- data_path in the manifest is relative to the lake: table/date/version/file
            regexp_extract(_metadata.file_path, '([^/]+/[^/]+/[^/]+/[^/]+)$', 1) as _data_path,
            _metadata.row_index + 1 as _line
        from parquet.`{{ lake }}/{{ table }}/*/*/*.parquet`
    ) as data
    left semi join parquet.`{{ lake }}/_manifest/{{ table }}.data_files.parquet` as committed
        on data._data_path = committed.data_path
    left anti join parquet.`{{ lake }}/_manifest/{{ table }}.duplicates.parquet` as duplicates
        on data._business_date = duplicates.business_date
        and data._source_file = duplicates.file
        and data._line = duplicates.line
    where data._reason is null
{%- endmacro %}
