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
