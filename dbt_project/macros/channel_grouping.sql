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

{#- The key of a source as channel grouping sees it (store, utm_source, utm_medium, referrer),
    for the rules' ranking over the few distinct sources of `grouped_sources`. -#}
{% macro source_key(store='null', utm_source='null', utm_medium='null', referrer='null') -%}
    {{ surrogate_key([store, utm_source, utm_medium, referrer]) }}
{%- endmacro %}

{#- The join of a relation to `grouping` (a `grouped_sources` of it), on its source columns or
    expressions, null equal to null: a text key built for each of a large day's 6.6M sessions
    and 9M hits took 0.3-0.9 s of int_sessions and 0.3-0.4 s of int_visitors_daily. -#}
{% macro source_matches(grouping, store='null', utm_source='null', utm_medium='null', referrer='null') -%}
    {{ grouping }}.store is not distinct from {{ store }}
        and {{ grouping }}.utm_source is not distinct from {{ utm_source }}
        and {{ grouping }}.utm_medium is not distinct from {{ utm_medium }}
        and {{ grouping }}.referrer is not distinct from {{ referrer }}
{%- endmacro %}

{#- The channel and traffic class of every distinct source in `relation` (columns or
    expressions of it): the seed's rules run once per distinct source, a few hundred rows, not
    once per order, session or hit. One row per distinct source (store, utm_source,
    utm_medium, referrer): join it with `source_matches`. -#}
{% macro grouped_sources(relation, store='null', utm_source='null', utm_medium='null', referrer='null') -%}
    with sources as (

        select distinct
            {{ store }} as store,
            {{ utm_source }} as utm_source,
            {{ utm_medium }} as utm_medium,
            {{ referrer }} as referrer
        from {{ relation }}

    ),

    keyed as (

        select {{ source_key('store', 'utm_source', 'utm_medium', 'referrer') }} as source_key, *
        from sources

    ),

    grouped as (

        {{ channel_grouping('keyed', 'source_key', store='store', utm_source='utm_source', utm_medium='utm_medium', referrer='referrer') }}

    )

    select
        keyed.store,
        keyed.utm_source,
        keyed.utm_medium,
        keyed.referrer,
        grouped.channel,
        grouped.traffic_class
    from keyed
    inner join grouped on keyed.source_key = grouped.grouped_key
{%- endmacro %}

{#- What the seed's referrer rules see of a visit through a customer's share link (the
    referring customer's key itself is of no interest to them). -#}
{% macro share_link_referrer(referrer_customer_key) -%}
    case when {{ referrer_customer_key }} is not null then 'share_link' end
{%- endmacro %}
