{{ config(**incremental_by_date('date_day', hold_back=true)) }}

-- depends_on: {{ ref('int_rebuilt_dates') }}

{#- The brand-value radar (marts.md) over the 14 days up to each date, and over the 14 days
    before those, side by side (the alert on a dimension moving > 5% compares the two). Each
    index is 100 x the weighted sum of its components (seed brand_health_weights; every
    component a 0..1 figure), the composite the weighted sum of the four indices:
      awareness   = aided_awareness_rate, share_of_voice
      reputation  = positive_share, rating_score = (mean_rating - 1) / 4
      loyalty     = nps_score = (nps + 100) / 200, repeat_customer_rate
      association = association_share (on the seed brand_target_keywords)
    A component without data in the window (no response, no mention) is null, and so is every
    index it enters: no data is not a score of 0. A date is restated by the surveys and the
    listening reports of the 28 days up to it, and by the orders of the 379 (the repeat rate
    of the date and of 14 days before, each over 365 days). -#}

{%- set window_days = 14 %}

with

weights as (

    -- the seed's rows as one row of named weights
    select
        {%- for component in ['aided_awareness_rate', 'share_of_voice', 'positive_share', 'rating_score',
                              'nps_score', 'repeat_customer_rate', 'association_share',
                              'awareness_index', 'reputation_index', 'loyalty_index', 'association_index'] %}
        max(case when component = '{{ component }}' then weight end) as w_{{ component }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('brand_health_weights') }}

),

responses as (

    select responded_date as date_day, survey, nps_group, is_aware_aided, rating_reputation
    from {{ ref('stg_surveys__responses') }}

),

mentions as (

    select date_day, brand, mentions, positive_mentions
    from {{ ref('stg_listening__brand_mentions') }}

),

associations as (

    select listening.date_day, listening.brand, listening.co_mentions
    from {{ ref('stg_listening__keyword_associations') }} as listening
    inner join {{ ref('brand_target_keywords') }} as keywords on listening.keyword = keywords.keyword

),

dates as (

    select date_day from responses
    union
    select date_day from mentions
    union
    select date_day from associations

),

target_dates as (

    select date_day from dates
    where {{ not_held_back('date_day') }}
    {%- if is_daily_run() %}
        and (
            date_day in {{ rebuilt_dates_with_window(['surveys', 'listening'], 'dates', 'date_day', 2 * window_days) }}
            or date_day in {{ rebuilt_dates_with_window(['orders', 'first_orders'], 'dates', 'date_day', 365 + window_days) }}
        )
    {%- endif %}

),

periods as (

    select
        date_day,
        'current' as period,
        {{ add_days('date_day', 1 - window_days) }} as first_day,
        date_day as last_day
    from target_dates

    union all

    select
        date_day,
        'previous' as period,
        {{ add_days('date_day', 1 - 2 * window_days) }} as first_day,
        {{ add_days('date_day', - window_days) }} as last_day
    from target_dates

),

survey_figures as (

    select
        periods.date_day,
        periods.period,
        sum(case when responses.survey = 'brand_tracker' then 1 else 0 end) as tracker_responses,
        sum(case when responses.survey = 'brand_tracker' and responses.is_aware_aided then 1 else 0 end)
            as aided_aware,
        sum(case when responses.survey = 'brand_tracker' then responses.rating_reputation end) as rating_total,
        count(case when responses.survey = 'brand_tracker' then responses.rating_reputation end) as ratings,
        sum(case when responses.survey = 'nps' and responses.nps_group is not null then 1 else 0 end)
            as nps_responses,
        sum(case when responses.survey = 'nps' and responses.nps_group = 'promoter' then 1 else 0 end)
            as promoters,
        sum(case when responses.survey = 'nps' and responses.nps_group = 'detractor' then 1 else 0 end)
            as detractors
    from periods
    inner join responses on responses.date_day between periods.first_day and periods.last_day
    group by periods.date_day, periods.period

),

mention_figures as (

    select
        periods.date_day,
        periods.period,
        sum(case when mentions.brand = '{{ var("own_brand") }}' then mentions.mentions else 0 end) as brand_mentions,
        sum(mentions.mentions) as all_mentions,
        sum(case when mentions.brand = '{{ var("own_brand") }}' then mentions.positive_mentions else 0 end)
            as positive_mentions
    from periods
    inner join mentions on mentions.date_day between periods.first_day and periods.last_day
    group by periods.date_day, periods.period

),

association_figures as (

    select
        periods.date_day,
        periods.period,
        sum(case when associations.brand = '{{ var("own_brand") }}' then associations.co_mentions else 0 end)
            as brand_co_mentions,
        sum(associations.co_mentions) as all_co_mentions
    from periods
    inner join associations on associations.date_day between periods.first_day and periods.last_day
    group by periods.date_day, periods.period

),

figures as (

    select
        periods.date_day,
        periods.period,
        coalesce(survey_figures.tracker_responses, 0) as tracker_responses,
        coalesce(survey_figures.nps_responses, 0) as nps_responses,
        coalesce(mention_figures.brand_mentions, 0) as brand_mentions,
        -- unrounded here: an index of a rounded figure (12.5 x a six-decimal rating) lands on
        -- halves that the two engines round differently; every output is rounded once, last
        cast(survey_figures.aided_aware as double) / nullif(survey_figures.tracker_responses, 0)
            as aided_awareness_rate,
        cast(mention_figures.brand_mentions as double) / nullif(mention_figures.all_mentions, 0)
            as share_of_voice,
        cast(mention_figures.positive_mentions as double) / nullif(mention_figures.brand_mentions, 0)
            as positive_share,
        cast(survey_figures.rating_total as double) / nullif(survey_figures.ratings, 0) as mean_rating,
        100 * cast(survey_figures.promoters - survey_figures.detractors as double)
        / nullif(survey_figures.nps_responses, 0) as nps,
        repurchase.repeat_customer_rate,
        cast(association_figures.brand_co_mentions as double)
        / nullif(association_figures.all_co_mentions, 0) as association_share
    from periods
    left join survey_figures
        on periods.date_day = survey_figures.date_day and periods.period = survey_figures.period
    left join mention_figures
        on periods.date_day = mention_figures.date_day and periods.period = mention_figures.period
    left join association_figures
        on periods.date_day = association_figures.date_day and periods.period = association_figures.period
    -- the repeat rate is itself over the trailing 365 days: the one as of the period's end
    left join {{ ref('mart_repurchase_daily') }} as repurchase on repurchase.date_day = periods.last_day

),

indexed as (

    select
        figures.*,
        100 * (
            weights.w_aided_awareness_rate * aided_awareness_rate + weights.w_share_of_voice * share_of_voice
        ) as awareness_index,
        100 * (
            weights.w_positive_share * positive_share + weights.w_rating_score * (mean_rating - 1) / 4
        ) as reputation_index,
        100 * (
            weights.w_nps_score * (nps + 100) / 200 + weights.w_repeat_customer_rate * repeat_customer_rate
        ) as loyalty_index,
        100 * weights.w_association_share * association_share as association_index
    from figures
    cross join weights

),

composite as (

    select
        indexed.*,
        weights.w_awareness_index * awareness_index
        + weights.w_reputation_index * reputation_index
        + weights.w_loyalty_index * loyalty_index
        + weights.w_association_index * association_index as composite_index
    from indexed
    cross join weights

),

{%- set measures = [
    ('aided_awareness_rate', 'double'), ('share_of_voice', 'double'), ('positive_share', 'double'),
    ('mean_rating', 'double'), ('nps', 'double'), ('repeat_customer_rate', 'double'),
    ('association_share', 'double'), ('awareness_index', 'double'), ('reputation_index', 'double'),
    ('loyalty_index', 'double'), ('association_index', 'double'), ('composite_index', 'double'),
    ('tracker_responses', 'bigint'), ('nps_responses', 'bigint'), ('brand_mentions', 'bigint'),
] %}

final as (

    select
        current_period.date_day,
        {%- for period, prefix in [('current_period', ''), ('previous_period', 'previous_')] %}
        {%- set outer = loop %}
        {%- for name, type in measures %}
        {%- if type == 'double' %}
        cast(round({{ period }}.{{ name }}, 6) as double) as {{ prefix }}{{ name }}
        {%- else %}
        cast({{ period }}.{{ name }} as {{ type }}) as {{ prefix }}{{ name }}
        {%- endif %}{{ ',' if not (outer.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from composite as current_period
    inner join composite as previous_period
        on current_period.date_day = previous_period.date_day
        and previous_period.period = 'previous'
    where current_period.period = 'current'

)

select * from final
