{#- The trailing windows of mart_inventory_daily (marts.md): days of supply over the last 28
    days of sales, turnover over the last 30 days. Definitions of the mart, shared with the
    models that rebuild what those windows restate; thresholds are seed supply_thresholds. -#}
{% macro inventory_windows() -%}
    {{ return({'sales_days': 28, 'turnover_days': 30}) }}
{%- endmacro %}
