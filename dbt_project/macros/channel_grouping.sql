{#- Channel grouping as data (seeds/channel_grouping_rules.csv), GA4 style: for each dimension
    (`channel`, `traffic_class`) the rule with the lowest priority whose every non-empty pattern
    matches wins. Returns one row per key with `channel` and `traffic_class`. -#}
{% macro channel_grouping(relation, key, store='null', utm_source='null', utm_medium='null', referrer='null') -%}
    with candidates as (
        select
            t.{{ key }} as grouped_key,
            r.dimension,
            r.value,
            row_number() over (
                partition by t.{{ key }}, r.dimension order by r.priority
            ) as rule_rank
        from {{ relation }} as t
        cross join {{ ref('channel_grouping_rules') }} as r
        where
            (r.store_pattern is null
                or {{ regex_match("coalesce(lower(cast(" ~ store ~ " as " ~ dbt.type_string() ~ ")), '')", 'r.store_pattern') }})
            and (r.utm_source_pattern is null
                or {{ regex_match("coalesce(lower(cast(" ~ utm_source ~ " as " ~ dbt.type_string() ~ ")), '')", 'r.utm_source_pattern') }})
            and (r.utm_medium_pattern is null
                or {{ regex_match("coalesce(lower(cast(" ~ utm_medium ~ " as " ~ dbt.type_string() ~ ")), '')", 'r.utm_medium_pattern') }})
            and (r.referrer_pattern is null
                or {{ regex_match("coalesce(lower(cast(" ~ referrer ~ " as " ~ dbt.type_string() ~ ")), '')", 'r.referrer_pattern') }})
    )

    select
        grouped_key,
        coalesce(max(case when dimension = 'channel' then value end), 'other') as channel,
        coalesce(max(case when dimension = 'traffic_class' then value end), 'natural')
            as traffic_class
    from candidates
    where rule_rank = 1
    group by grouped_key
{%- endmacro %}
