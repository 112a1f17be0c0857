{#- A daily run's data tests read the rows it rebuilt, where a model says that is enough: its
    `meta: {tested_by_rebuilt_dates: <date column>, rebuilt_for: [<reasons>]}` (set by
    incremental_by_date), the rows from the earliest date of those reasons in int_rebuilt_dates
    on (of any reason when it names none). That suits a model rebuilt whole dates at
    a time (incremental_by_date) whose tests cannot fail across dates (its key holds the date):
    the dates the run did not rebuild were tested when they were. Such a model's tests would
    otherwise re-read a year of its history every night. A full build, and every other model,
    is tested whole. Overrides dbt's get_where_subquery, which wraps every generic test's model
    (and keeps its `where` config). -#}
{% macro get_where_subquery(relation) -%}
    {%- set predicates = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do predicates.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = rebuilt_rows_predicate() -%}
    {%- if scope -%}
        {%- do predicates.append(scope) -%}
    {%- endif -%}
    {%- if predicates -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ predicates | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro rebuilt_rows_predicate() -%}
    {%- if not execute or run_var('start_date') is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set node = graph.nodes.get(model.attached_node or '') -%}
    {%- set column = (node.config.meta or {}).get('tested_by_rebuilt_dates') if node else none -%}
    {%- if not column -%}
        {{ return('') }}
    {%- endif -%}
    {#- graph, not ref(): a test declares no dependency on the dates table -#}
    {%- set rebuilt = graph.nodes['model.growth.int_rebuilt_dates'].relation_name -%}
    {%- set reasons = node.config.meta.get('rebuilt_for') -%}
    {%- set of_reasons = (" where reason in ('" ~ reasons | join("', '") ~ "')") if reasons else '' -%}
    {{ return('(' ~ column ~ ' >= (select min(date_day) from ' ~ rebuilt ~ of_reasons ~ '))') }}
{%- endmacro %}
