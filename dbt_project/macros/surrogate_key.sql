{#- One text key from several columns, for models whose grain is a combination of columns (a
    campaign and a day): unique/not_null tests and joins then need one column. An empty part is
    kept as '' so ('a', null, 'b') and ('a', 'b', null) stay different keys. -#}

{% macro surrogate_key(columns) -%}
    concat_ws('|'{%- for column in columns %}, coalesce(cast({{ column }} as {{ dbt.type_string() }}), ''){%- endfor %})
{%- endmacro %}
