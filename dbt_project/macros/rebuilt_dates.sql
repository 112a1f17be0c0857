{#- The dates an incremental model rebuilds in a daily run: those int_rebuilt_dates lists for
    the reasons the model depends on (its docstring lists them), as a subquery. -#}
{% macro rebuilt_dates(reasons) -%}
    {%- if reasons is not iterable or reasons is string or not reasons -%}
        {{ exceptions.raise_compiler_error("rebuilt_dates needs a list of reasons, got " ~ reasons) }}
    {%- endif %}
    (
        select date_day from {{ ref('int_rebuilt_dates') }}
        where reason in ({%- for reason in reasons %}'{{ reason }}'{% if not loop.last %}, {% endif %}{% endfor -%})
    )
{%- endmacro %}

{#- The same dates as literals, asked once at run time, for scans that should reach only
    those dates' data (a filter of literals reaches the raw lake's Parquet files; a
    subquery does not). Outside a run's execution: none. -#}
{% macro rebuilt_date_values(reasons) -%}
    {%- set relation = ref('int_rebuilt_dates') -%}
    {%- if reasons is not iterable or reasons is string or not reasons -%}
        {{ exceptions.raise_compiler_error("rebuilt_date_values needs a list of reasons, got " ~ reasons) }}
    {%- endif -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select distinct cast(date_day as {{ dbt.type_string() }}) from {{ relation }}
        where reason in ({%- for reason in reasons %}'{{ reason }}'{% if not loop.last %}, {% endif %}{% endfor -%})
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- `column in (dates)`, false when there are none. -#}
{% macro date_in(column, dates) -%}
    {%- if dates -%}
        ({{ column }} in ({{ date_list(dates) }}))
    {%- else -%}
        (1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- The order dates whose touch paths a daily run restates: the dates whose orders changed,
    and every date since the earliest restated event date (a late touch joins the paths of the
    orders after it, within the lookback). -#}
{% macro order_path_dates(column) -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {#- as literals, asked once: the scan of the orders reaches those dates only, before
            their join to the classified orders (a subquery joined a year of orders first) -#}
        {%- set event_dates = rebuilt_date_values(['events']) -%}
        ({{ date_in(column, rebuilt_date_values(['orders', 'first_orders'])) }}
        {%- if event_dates %}
            or {{ column }} >= cast('{{ event_dates[0] }}' as date)
        {%- endif %})
    {%- else -%}
        ({{ column }} in {{ rebuilt_dates(['orders', 'first_orders']) }}
            or {{ column }} >= (
                select min(date_day) from {{ ref('int_rebuilt_dates') }} where reason = 'events'
            ))
    {%- endif -%}
{%- endmacro %}

{#- True for the events a daily run rebuilds: those of the event dates its folders hold, read
    from the folders since the earliest of them (an event lands in its own date's folder or a
    later one), as literals so the scan reaches those files only. True in a full build. -#}
{% macro in_rebuilt_event_dates(event_date='event_date', landed_date='landed_date') -%}
    {%- if not is_daily_run() -%}
        (1 = 1)
    {%- else -%}
        {%- set dates = rebuilt_date_values(['events']) -%}
        ({{ date_in(event_date, dates) }}
        {%- if dates %} and {{ landed_date }} >= cast('{{ dates[0] }}' as date){% endif %})
    {%- endif -%}
{%- endmacro %}

{#- The earliest date a daily run rebuilds for any of `reasons`, less `days_before` days: the
    first landing folder a model reads those reasons' sources from (a record lands in its own
    date's folder or a later one). The run's first date when it rebuilds none; none outside a
    daily run. -#}
{% macro first_rebuilt_date(reasons, days_before=0) -%}
    {%- if not is_daily_run() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set dates = rebuilt_date_values([reasons] if reasons is string else reasons) -%}
    {%- set first = (dates[0] if dates else run_var('start_date')) | string -%}
    {%- if days_before -%}
        {%- set first = (modules.datetime.date.fromisoformat(first)
                         - modules.datetime.timedelta(days=days_before | int)).isoformat() -%}
    {%- endif -%}
    {{ return(first) }}
{%- endmacro %}

{#- ` and <column> >= <since>`: the landing folders from `since_landed_date` on; nothing when
    it is none (every folder). -#}
{% macro landed_since(since_landed_date, column='_business_date') -%}
    {%- if since_landed_date is not none %}
        and {{ column }} >= cast('{{ since_landed_date }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- A staging view as an incremental model reads it: in a daily run, the view's query over the
    folders from `since` (first_rebuilt_date) on, `as_landed(since)` (the macro the view is
    built from: events_as_arrived, shipments_as_landed, touches_as_reported,
    campaign_days_as_reported, post_days_as_reported), since a filter from outside the view
    does not reach below its latest-version window or its retries' aggregation, which read a
    year of landings for every reader; otherwise (`since` none, a full build) the view. -#}
{% macro staged_for_run(view_name, since, as_landed) -%}
    {%- set view = ref(view_name) -%}
    {%- if reads_landed_folders(since) -%}
        ({{ as_landed(since) }})
    {%- else -%}
        {{ view }}
    {%- endif -%}
{%- endmacro %}

{#- Whether staged_for_run reads the view's query rather than the view: in a daily run, and
    when dbt parses the model (so it records the sources the query reads); not in a unit test,
    which gives the view's rows (and no source's). -#}
{% macro reads_landed_folders(since) -%}
    {{ return(model.resource_type != 'unit_test' and (since is not none or not execute)) }}
{%- endmacro %}

{#- ` where <column> in rebuilt_dates(reasons)` in a daily run; nothing in a full build. -#}
{% macro where_rebuilt(column, reasons) -%}
    {%- if is_daily_run() %}
    where {{ column }} in {{ rebuilt_dates(reasons) }}
    {%- endif -%}
{%- endmacro %}

{#- stg_events__events as an incremental model reads it (staged_for_run). Read it with
    `in_rebuilt_event_dates()`. -#}
{% macro events_of_run() -%}
    {{ staged_for_run('stg_events__events', first_rebuilt_date('events'), events_as_arrived) }}
{%- endmacro %}

{#- The dates of `dates_relation` (a CTE or relation with `date_column`) that a daily run
    rebuilds for a model with a trailing window of `window_days` days: those a reason restates
    and the `window_days - 1` dates after each, whose windows hold it. `window_days` may be a
    column of `dates_relation` (a seed's value joined in). As a subquery. -#}
{% macro rebuilt_dates_with_window(reasons, dates_relation, date_column, window_days) -%}
    (
        select distinct dated.{{ date_column }}
        from {{ dates_relation }} as dated
        inner join {{ ref('int_rebuilt_dates') }} as restated
            on restated.reason in ({%- for reason in reasons %}'{{ reason }}'{% if not loop.last %}, {% endif %}{% endfor -%})
            and dated.{{ date_column }} between restated.date_day
            and {{ add_days('restated.date_day', window_days ~ ' - 1') }}
    )
{%- endmacro %}

{#- The value of a threshold seed's row (`threshold, value`), asked at run time, for a bound a
    model needs as a literal; none outside a run's execution (and in a unit test, whose seed
    is a fixture the query cannot see). -#}
{% macro threshold_value(seed_name, threshold) -%}
    {%- set relation = ref(seed_name) -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select max(value) from {{ relation }} where threshold = '{{ threshold }}'
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{%- endmacro %}
