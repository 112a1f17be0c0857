{# Each KOC's month (marts.md): tier by the month's followers (seed koc_tiers: the
    lowest-numbered tier whose minimum they reach), influence (engagement rate, completion),
    conversion (orders and gmv whose last touch was a visit from one of their posts, from
    fct_attribution; conversion = those orders / link clicks; roi), brand fit (seed
    koc_category_fit, sentiment), each a 0..100 score and a composite of the three (seed
    koc_score_weights: each part scaled to 0..1, full marks at its `full_score_at`, weighted;
    a part without a value is left out). Cost = fees (fee per post x posts published in the
    month) + commission (commission rate x attributed gmv); roi = attributed gmv / cost. A
    month is the month of the content's stat date, the order's payment date, or the post's
    publication (its fee). -#}

with

weights as (

    select
        score,
        component,
        cast(weight as decimal(9, 6)) as weight,
        full_score_at
    from {{ ref('koc_score_weights') }}

),

kocs as (

    select * from {{ ref('stg_koc__kocs') }}

),

post_days as (

    select * from {{ ref('stg_content__post_days') }}
    where koc_id is not null

),

content as (

    select
        koc_id,
        {{ month_start('stat_date') }} as month_start,
        count(distinct post_id) as active_posts,
        sum(impressions) as impressions,
        sum(views) as views,
        sum(likes + comments + shares + saves) as interactions,
        sum(link_clicks) as link_clicks,
        sum(positive_comments) as positive_comments,
        sum(negative_comments) as negative_comments,
        sum(case when avg_watch_ratio is not null then views end) as watch_views,
        sum(cast(avg_watch_ratio * views as decimal(24, 6))) as watched_views
    from post_days
    group by koc_id, {{ month_start('stat_date') }}

),

published as (

    select
        koc_id,
        {{ month_start('published_date') }} as month_start,
        count(*) as posts_published
    from (
        select koc_id, post_id, cast(min(publish_time) as date) as published_date
        from post_days
        group by koc_id, post_id
    ) as posts
    where published_date is not null
    group by koc_id, {{ month_start('published_date') }}

),

attributed as (

    select
        koc_id,
        {{ month_start('date_day') }} as month_start,
        count(distinct order_id) as attributed_orders,
        sum(cast(attributed_gmv as decimal(18, 2))) as attributed_gmv
    from {{ ref('fct_attribution') }}
    where model = 'last_touch' and koc_id is not null
    group by koc_id, {{ month_start('date_day') }}

),

koc_months as (

    select koc_id, month_start from content
    union
    select koc_id, month_start from published
    union
    select koc_id, month_start from attributed

),

followed as (

    select
        koc_months.koc_id,
        koc_months.month_start,
        -- the month's last snapshot; a month before the roster landed takes the current one
        coalesce(monthly.followers, kocs.followers) as followers
    from koc_months
    left join {{ ref('stg_koc__koc_months') }} as monthly
        on koc_months.koc_id = monthly.koc_id and koc_months.month_start = monthly.month_start
    left join kocs on koc_months.koc_id = kocs.koc_id

),

tiered as (

    select
        followed.koc_id,
        followed.month_start,
        min(tiers.tier) as tier
    from followed
    inner join {{ ref('koc_tiers') }} as tiers on followed.followers >= tiers.min_followers
    group by followed.koc_id, followed.month_start

),

measured as (

    select
        followed.koc_id,
        followed.month_start,
        kocs.platform,
        kocs.category,
        kocs.cooperation,
        tiered.tier,
        followed.followers,
        coalesce(content.active_posts, 0) as active_posts,
        coalesce(published.posts_published, 0) as posts_published,
        coalesce(content.impressions, 0) as impressions,
        coalesce(content.views, 0) as views,
        coalesce(content.interactions, 0) as interactions,
        coalesce(content.link_clicks, 0) as link_clicks,
        cast(content.interactions as double) / nullif(content.impressions, 0) as engagement_rate,
        {{ round_exact('cast(content.watched_views as double) / nullif(content.watch_views, 0)') }}
            as completion,
        cast(content.positive_comments as double)
        / nullif(content.positive_comments + content.negative_comments, 0) as sentiment,
        coalesce(fit.category_fit, 0.0) as category_fit,
        coalesce(attributed.attributed_orders, 0) as attributed_orders,
        coalesce(attributed.attributed_gmv, 0) as attributed_gmv,
        cast(coalesce(attributed.attributed_orders, 0) as double) / nullif(content.link_clicks, 0)
            as conversion,
        cast(
            cast(coalesce(kocs.fee_per_post, 0) as decimal(18, 2))
            * coalesce(published.posts_published, 0) as decimal(18, 2)
        ) as fees,
        cast(
            cast(coalesce(kocs.commission_rate, 0) as decimal(9, 6))
            * coalesce(attributed.attributed_gmv, 0) as decimal(18, 2)
        ) as commission
    from followed
    left join kocs on followed.koc_id = kocs.koc_id
    left join tiered
        on followed.koc_id = tiered.koc_id and followed.month_start = tiered.month_start
    left join content
        on followed.koc_id = content.koc_id and followed.month_start = content.month_start
    left join published
        on followed.koc_id = published.koc_id and followed.month_start = published.month_start
    left join attributed
        on followed.koc_id = attributed.koc_id and followed.month_start = attributed.month_start
    left join {{ ref('koc_category_fit') }} as fit on kocs.category = fit.category

),

costed as (

    select
        *,
        cast(fees + commission as decimal(18, 2)) as cost,
        cast(attributed_gmv as double) / nullif(cast(fees + commission as double), 0) as roi
    from measured

),

parts as (

    {%- for component in ['engagement_rate', 'completion', 'conversion', 'roi', 'category_fit', 'sentiment'] %}
    select koc_id, month_start, '{{ component }}' as component, cast({{ component }} as double) as value
    from costed
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

{#- a score: 100 x the weighted mean of its parts' values scaled to 0..1 (exact decimal sums,
    divided as doubles, rounded by round_exact: the same bits on both engines) -#}
{%- set weighted_mean -%}
    {{ round_exact(
        '100 * cast(sum(weights.weight * cast(least(parts.value / weights.full_score_at, 1.0) as decimal(18, 12))) as double)'
        ~ ' / cast(sum(weights.weight) as double)'
    ) }}
{%- endset %}

scores as (

    select
        parts.koc_id,
        parts.month_start,
        weights.score,
        {{ weighted_mean }} as score_value
    from parts
    inner join weights on parts.component = weights.component
    where parts.value is not null and weights.score <> 'composite'
    group by parts.koc_id, parts.month_start, weights.score

),

composites as (

    select
        parts.koc_id,
        parts.month_start,
        {{ weighted_mean }} as composite_score
    from (
        select koc_id, month_start, concat(score, '_score') as component, score_value as value
        from scores
    ) as parts
    inner join weights on parts.component = weights.component and weights.score = 'composite'
    group by parts.koc_id, parts.month_start

),

final as (

    select
        {{ surrogate_key(['costed.koc_id', 'costed.month_start']) }} as koc_month_id,
        costed.koc_id,
        costed.month_start,
        costed.platform,
        costed.category,
        costed.cooperation,
        cast(costed.tier as integer) as tier,
        cast(costed.followers as bigint) as followers,
        cast(costed.active_posts as bigint) as active_posts,
        cast(costed.posts_published as bigint) as posts_published,
        cast(costed.impressions as bigint) as impressions,
        cast(costed.views as bigint) as views,
        cast(costed.link_clicks as bigint) as link_clicks,
        costed.engagement_rate,
        costed.completion,
        costed.sentiment,
        cast(costed.category_fit as double) as category_fit,
        costed.conversion,
        max(case when scores.score = 'influence' then scores.score_value end) as influence_score,
        max(case when scores.score = 'conversion' then scores.score_value end) as conversion_score,
        max(case when scores.score = 'brand_fit' then scores.score_value end) as brand_fit_score,
        max(composites.composite_score) as composite_score,
        cast(costed.attributed_orders as bigint) as attributed_orders,
        cast(costed.attributed_gmv as decimal(18, 2)) as attributed_gmv,
        costed.fees,
        costed.commission,
        costed.cost,
        costed.roi
    from costed
    left join scores
        on costed.koc_id = scores.koc_id and costed.month_start = scores.month_start
    left join composites
        on costed.koc_id = composites.koc_id and costed.month_start = composites.month_start
    group by
        costed.koc_id, costed.month_start, costed.platform, costed.category, costed.cooperation,
        costed.tier, costed.followers, costed.active_posts, costed.posts_published,
        costed.impressions, costed.views, costed.link_clicks, costed.engagement_rate,
        costed.completion, costed.sentiment, costed.category_fit, costed.conversion,
        costed.attributed_orders, costed.attributed_gmv, costed.fees, costed.commission,
        costed.cost, costed.roi

)

select * from final
