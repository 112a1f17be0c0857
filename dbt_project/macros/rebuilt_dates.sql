{#- The dates an incremental model rebuilds in a daily run: those int_rebuilt_dates lists for
    the reasons the model depends on (its docstring lists them), as a subquery. -#}
{% macro rebuilt_dates(reasons) -%}
    (
        select date_day from {{ ref('int_rebuilt_dates') }}
        where reason in ({%- for reason in reasons %}'{{ reason }}'{% if not loop.last %}, {% endif %}{% endfor -%})
    )
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
