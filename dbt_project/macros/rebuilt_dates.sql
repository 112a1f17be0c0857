{#- The dates an incremental model rebuilds in a daily run: those int_rebuilt_dates lists for
    the reasons the model depends on (its docstring lists them), as a subquery. -#}
{% macro rebuilt_dates(reasons) -%}
    (
        select date_day from {{ ref('int_rebuilt_dates') }}
        where reason in ({%- for reason in reasons %}'{{ reason }}'{% if not loop.last %}, {% endif %}{% endfor -%})
    )
{%- endmacro %}
