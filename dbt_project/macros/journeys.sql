{#- The journey dates a daily run rebuilds (int_journeys and what reads it by date): every date
    since `attribution_lookback_days` before the earliest date whose orders or events the run
    restates. A restated order changes the paths of its own date and, by taking touches into
    its path, the non-converting journeys of the lookback before it; restated events change
    their own date's sessions and the paths of every order after them. -#}
{% macro journey_dates(column) -%}
    ({{ column }} >= (
        select {{ add_days('min(date_day)', '-' ~ var('attribution_lookback_days')) }}
        from {{ ref('int_rebuilt_dates') }}
        where reason in ('orders', 'events')
    ))
{%- endmacro %}
