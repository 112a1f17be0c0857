{#- Engine-specific SQL lives here, once, behind adapter.dispatch, so models stay portable
    between DuckDB (the embedded default) and Spark (dbt-spark). -#}

{% macro regex_match(value, pattern) -%}
    {{ return(adapter.dispatch('regex_match', 'growth')(value, pattern)) }}
{%- endmacro %}
{% macro default__regex_match(value, pattern) -%}
    regexp_matches({{ value }}, {{ pattern }})
{%- endmacro %}
{% macro spark__regex_match(value, pattern) -%}
    ({{ value }} rlike {{ pattern }})
{%- endmacro %}

{#- Total units of an order's `items` JSON array ([{sku_id, qty, unit_price, discount}]). -#}
{% macro order_units(items_json) -%}
    {{ return(adapter.dispatch('order_units', 'growth')(items_json)) }}
{%- endmacro %}
{% macro default__order_units(items_json) -%}
    coalesce(list_sum(cast(json_extract({{ items_json }}, '$[*].qty') as bigint[])), 0)
{%- endmacro %}
{% macro spark__order_units(items_json) -%}
    coalesce(aggregate(
        from_json({{ items_json }}, 'array<struct<qty:bigint>>'), 0L, (acc, x) -> acc + coalesce(x.qty, 0)
    ), 0)
{%- endmacro %}

{#- json_array_length is spelled the same on both engines. -#}
{% macro json_array_size(items_json) -%}
    coalesce(json_array_length({{ items_json }}), 0)
{%- endmacro %}

{#- A group's first row in the order of `order_by` (columns whose values are unique within the
    group), as one struct of `columns` read with `.column`: the row's own values, nulls too
    (DuckDB's arg_min skips a null value; a struct is never null). -#}
{% macro first_row_of(columns, order_by) -%}
    {{ return(adapter.dispatch('first_row_of', 'growth')(columns, order_by)) }}
{%- endmacro %}
{% macro default__first_row_of(columns, order_by) -%}
    arg_min(
        struct_pack({% for c in columns %}{{ c }} := {{ c }}{{ ', ' if not loop.last }}{% endfor %}),
        struct_pack({% for c in order_by %}k{{ loop.index }} := {{ c }}{{ ', ' if not loop.last }}{% endfor %})
    )
{%- endmacro %}
{% macro spark__first_row_of(columns, order_by) -%}
    min_by(
        named_struct({% for c in columns %}'{{ c }}', {{ c }}{{ ', ' if not loop.last }}{% endfor %}),
        named_struct({% for c in order_by %}'k{{ loop.index }}', {{ c }}{{ ', ' if not loop.last }}{% endfor %})
    )
{%- endmacro %}

{#- The last non-null value of `value` among the rows of the window so far (the current row
    included, or only those before it). -#}
{% macro last_non_null(value, partition_by, order_by, preceding_only=false) -%}
    {{ return(adapter.dispatch('last_non_null', 'growth')(value, partition_by, order_by, preceding_only)) }}
{%- endmacro %}
{% macro default__last_non_null(value, partition_by, order_by, preceding_only) -%}
    last_value({{ value }} ignore nulls) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and {{ '1 preceding' if preceding_only else 'current row' }}
    )
{%- endmacro %}
{% macro spark__last_non_null(value, partition_by, order_by, preceding_only) -%}
    last_value({{ value }}, true) over (
        partition by {{ partition_by }} order by {{ order_by }}
        rows between unbounded preceding and {{ '1 preceding' if preceding_only else 'current row' }}
    )
{%- endmacro %}

{#- The standard normal distribution function, in plain arithmetic both engines share
    (Abramowitz and Stegun 26.2.17, absolute error below 7.5e-8). -#}
{% macro normal_cdf(z) -%}
    (case when ({{ z }}) is null then null else
        0.5 + sign({{ z }}) * (0.5 - (exp(-0.5 * ({{ z }}) * ({{ z }})) / sqrt(2 * pi()))
        * (0.319381530 * (1.0 / (1.0 + 0.2316419 * abs({{ z }})))
           - 0.356563782 * power(1.0 / (1.0 + 0.2316419 * abs({{ z }})), 2)
           + 1.781477937 * power(1.0 / (1.0 + 0.2316419 * abs({{ z }})), 3)
           - 1.821255978 * power(1.0 / (1.0 + 0.2316419 * abs({{ z }})), 4)
           + 1.330274429 * power(1.0 / (1.0 + 0.2316419 * abs({{ z }})), 5)))
    end)
{%- endmacro %}

{#- The survival function of the chi-square distribution with `df` degrees of freedom (1 to
    12), in closed form: for even df exp(-x/2) times a finite series; for odd df the normal
    tail plus a finite series. -#}
{% macro chi_square_sf(x, df) -%}
    (case
    {%- for k in range(1, 13) %}
        when {{ df }} = {{ k }} then
        {%- if k % 2 == 0 %}
            exp(-({{ x }}) / 2) * (1
            {%- for i in range(1, k // 2) %}
                + power(({{ x }}) / 2, {{ i }}) / {{ [1, 1, 2, 6, 24, 120, 720][i] }}
            {%- endfor %})
        {%- else %}
            2 * (1 - {{ normal_cdf('sqrt(' ~ x ~ ')') }})
            {%- if k > 1 %}
            + exp(-({{ x }}) / 2) * sqrt(2 * ({{ x }}) / pi()) * (1
                {%- set ns = namespace(denominator=1) %}
                {%- for i in range(1, (k - 1) // 2) %}
                    {%- set ns.denominator = ns.denominator * (2 * i + 1) %}
                + power({{ x }}, {{ i }}) / {{ ns.denominator }}
                {%- endfor %})
            {%- endif %}
        {%- endif %}
    {%- endfor %}
    end)
{%- endmacro %}

{#- One row per item line of an order: `order_id`, `line_number` (1-based, in the array's
    order), `sku_id`, `qty`, `unit_price`, `discount`, from a relation with `order_id` and the
    `items` JSON array ([{sku_id, qty, unit_price, discount}]). -#}
{% macro order_item_lines(relation) -%}
    {{ return(adapter.dispatch('order_item_lines', 'growth')(relation)) }}
{%- endmacro %}
{% macro default__order_item_lines(relation) -%}
    select
        order_id,
        line_number,
        item.sku_id as sku_id,
        cast(item.qty as bigint) as qty,
        cast(item.unit_price as decimal(18, 2)) as unit_price,
        cast(item.discount as decimal(18, 2)) as discount
    from (
        select
            order_id,
            unnest(generate_series(1, len(lines))) as line_number,
            unnest(lines) as item
        from (
            select
                order_id,
                from_json(items, '[{"sku_id": "VARCHAR", "qty": "BIGINT", "unit_price": "DECIMAL(18,2)", "discount": "DECIMAL(18,2)"}]') as lines
            from {{ relation }}
        ) as parsed
    ) as exploded
{%- endmacro %}
{% macro spark__order_item_lines(relation) -%}
    select
        order_id,
        position + 1 as line_number,
        item.sku_id as sku_id,
        cast(item.qty as bigint) as qty,
        cast(item.unit_price as decimal(18, 2)) as unit_price,
        cast(item.discount as decimal(18, 2)) as discount
    from {{ relation }}
    lateral view posexplode(
        from_json(items, 'array<struct<sku_id:string,qty:bigint,unit_price:decimal(18,2),discount:decimal(18,2)>>')
    ) exploded as position, item
{%- endmacro %}

{#- Seconds elapsed from one timestamp to a later one, to the microsecond, as a double (naive
    local times on both engines): DuckDB's date_diff('second') counts second boundaries crossed
    and Spark's timestampdiff whole seconds elapsed, so neither is the same on both. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'growth')(start, end)) }}
{%- endmacro %}
{% macro default__seconds_between(start, end) -%}
    (date_diff('microsecond', {{ start }}, {{ end }}) / 1e6)
{%- endmacro %}
{% macro spark__seconds_between(start, end) -%}
    (timestampdiff(MICROSECOND, {{ start }}, {{ end }}) / 1e6)
{%- endmacro %}

{#- Days from one date to a later one. -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'growth')(start, end)) }}
{%- endmacro %}
{% macro default__days_between(start, end) -%}
    date_diff('day', {{ start }}, {{ end }})
{%- endmacro %}
{% macro spark__days_between(start, end) -%}
    datediff({{ end }}, {{ start }})
{%- endmacro %}

{#- A date plus a number of days (negative: before), the number a literal or a column. -#}
{% macro add_days(date, days) -%}
    {{ return(adapter.dispatch('add_days', 'growth')(date, days)) }}
{%- endmacro %}
{% macro default__add_days(date, days) -%}
    cast({{ date }} + cast({{ days }} as integer) as date)
{%- endmacro %}
{% macro spark__add_days(date, days) -%}
    date_add({{ date }}, cast({{ days }} as integer))
{%- endmacro %}

{#- The first day of a date's month, as a date. -#}
{% macro month_start(date) -%}
    {{ return(adapter.dispatch('month_start', 'growth')(date)) }}
{%- endmacro %}
{% macro default__month_start(date) -%}
    cast(date_trunc('month', {{ date }}) as date)
{%- endmacro %}
{% macro spark__month_start(date) -%}
    trunc({{ date }}, 'MM')
{%- endmacro %}

{#- The p-quantile of a numeric column, interpolated linearly between the two nearest ranks
    (DuckDB's quantile_cont and Spark's percentile compute the same thing). -#}
{% macro percentile_cont(value, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'growth')(value, fraction)) }}
{%- endmacro %}
{% macro default__percentile_cont(value, fraction) -%}
    quantile_cont({{ value }}, {{ fraction }})
{%- endmacro %}
{% macro spark__percentile_cont(value, fraction) -%}
    percentile({{ value }}, {{ fraction }})
{%- endmacro %}

{#- `with name as {{ streamed_cte() }} (...)`: a CTE read more than once that is cheaper to
    compute again than to keep. DuckDB materializes such a CTE, every column of every row, and
    a large day's hits spill past the memory limit; Spark inlines CTEs already. -#}
{% macro streamed_cte() -%}
    {{ return(adapter.dispatch('streamed_cte', 'growth')()) }}
{%- endmacro %}
{% macro default__streamed_cte() -%}{%- endmacro %}
{% macro duckdb__streamed_cte() -%}not materialized{%- endmacro %}
