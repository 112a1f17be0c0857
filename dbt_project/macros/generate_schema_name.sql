{#- Models land in the schema their folder names (`marts`, `staging`, ...), not in
    `<target schema>_marts`: BI tools and tests address `marts.<model>`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
