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
    {%- if not execute -%}
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
    ({{ column }} in {{ rebuilt_dates(['orders', 'first_orders']) }}
        or {{ column }} >= (
            select min(date_day) from {{ ref('int_rebuilt_dates') }} where reason = 'events'
        ))
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

{#- The earliest event date a daily run rebuilds, the first landing folder its events are read
    from; none outside a daily run. -#}
{% macro first_rebuilt_event_date() -%}
    {%- if not is_daily_run() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set dates = rebuilt_date_values(['events']) -%}
    {{ return(dates[0] if dates else var('start_date')) }}
{%- endmacro %}

{#- stg_events__events as an incremental model reads it: in a daily run, the events of the
    folders since its first rebuilt event date (events_as_arrived: the view's retries are
    aggregated over every folder, whatever its reader filters), otherwise the view. Read it
    with `in_rebuilt_event_dates()`. -#}
{% macro events_of_run() -%}
    {%- set view = ref('stg_events__events') -%}
    {%- set since = first_rebuilt_event_date() -%}
    {%- if since is none and execute -%}
        {{ view }}
    {%- else -%}
        ({{ events_as_arrived(since) }})
    {%- endif -%}
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
