{# Every post's audit (marts.md): its metrics summed over the days it reported (the
    platforms report each day's increments), the orders and gmv whose last touch was a visit
    from it (fct_attribution, last_touch), and a four-part score: reach (impressions),
    engagement (interactions / impressions), sentiment and conversion (attributed orders /
    link clicks), each scaled to 0..1 and weighted by seed content_score_weights. A part
    without a value (no comments: no sentiment) is left out of the weighted mean. Money and
    weighted sums are decimals, so both engines give the same bits. -#}

with

weights as (

    select
        component,
        cast(weight as decimal(9, 6)) as weight,
        full_score_at
    from {{ ref('content_score_weights') }}

),

post_days as (

    select * from {{ ref('stg_content__post_days') }}

),

posts as (

    select
        post_id,
        max(platform) as platform,
        max(koc_id) as koc_id,
        max(post_type) as post_type,
        min(publish_time) as published_at,
        min(stat_date) as first_stat_date,
        max(stat_date) as last_stat_date,
        sum(impressions) as impressions,
        sum(views) as views,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(saves) as saves,
        sum(link_clicks) as link_clicks,
        sum(positive_comments) as positive_comments,
        sum(negative_comments) as negative_comments,
        -- completion is a views-weighted mean over the days that report one (videos)
        sum(case when avg_watch_ratio is not null then views end) as watch_views,
        sum(cast(avg_watch_ratio * views as decimal(24, 6))) as watched_views
    from post_days
    group by post_id

),

attributed as (

    select
        post_id,
        count(distinct order_id) as attributed_orders,
        sum(cast(attributed_gmv as decimal(18, 2))) as attributed_gmv
    from {{ ref('fct_attribution') }}
    where model = 'last_touch' and post_id is not null
    group by post_id

),

measured as (

    select
        posts.*,
        coalesce(attributed.attributed_orders, 0) as attributed_orders,
        coalesce(attributed.attributed_gmv, 0) as attributed_gmv,
        likes + comments + shares + saves as interactions,
        cast(link_clicks as double) / nullif(impressions, 0) as ctr,
        {{ round_exact('cast(watched_views as double) / nullif(watch_views, 0)') }} as completion,
        cast(positive_comments as double)
        / nullif(positive_comments + negative_comments, 0) as sentiment,
        cast(likes + comments + shares + saves as double) / nullif(impressions, 0)
            as engagement_rate,
        cast(coalesce(attributed.attributed_orders, 0) as double) / nullif(link_clicks, 0)
            as conversion
    from posts
    left join attributed on posts.post_id = attributed.post_id

),

parts as (

    select post_id, 'reach' as component, cast(impressions as double) as value from measured
    union all
    select post_id, 'engagement' as component, engagement_rate as value from measured
    union all
    select post_id, 'sentiment' as component, sentiment as value from measured
    union all
    select post_id, 'conversion' as component, conversion as value from measured

),

part_scores as (

    select
        parts.post_id,
        parts.component,
        weights.weight,
        -- 0..1, full marks at the seed's value
        cast(least(parts.value / weights.full_score_at, 1.0) as decimal(18, 12)) as part_score
    from parts
    inner join weights on parts.component = weights.component
    where parts.value is not null

),

scores as (

    select
        post_id,
        max(case when component = 'reach' then part_score end) as reach_part,
        max(case when component = 'engagement' then part_score end) as engagement_part,
        max(case when component = 'sentiment' then part_score end) as sentiment_part,
        max(case when component = 'conversion' then part_score end) as conversion_part,
        -- exact decimal sums, divided as doubles: the same bits on both engines
        cast(sum(weight * part_score) as double) / cast(sum(weight) as double) as weighted_mean
    from part_scores
    group by post_id

),

final as (

    select
        measured.post_id,
        measured.platform,
        measured.koc_id,
        measured.post_type,
        measured.published_at,
        measured.first_stat_date,
        measured.last_stat_date,
        cast(measured.impressions as bigint) as impressions,
        cast(measured.views as bigint) as views,
        cast(measured.link_clicks as bigint) as link_clicks,
        cast(measured.interactions as bigint) as interactions,
        cast(measured.positive_comments as bigint) as positive_comments,
        cast(measured.negative_comments as bigint) as negative_comments,
        measured.ctr,
        measured.completion,
        measured.sentiment,
        measured.engagement_rate,
        cast(measured.attributed_orders as bigint) as attributed_orders,
        cast(measured.attributed_gmv as decimal(18, 2)) as attributed_gmv,
        measured.conversion,
        {{ round_exact('100 * cast(scores.reach_part as double)') }} as reach_score,
        {{ round_exact('100 * cast(scores.engagement_part as double)') }} as engagement_score,
        {{ round_exact('100 * cast(scores.sentiment_part as double)') }} as sentiment_score,
        {{ round_exact('100 * cast(scores.conversion_part as double)') }} as conversion_score,
        {{ round_exact('100 * scores.weighted_mean') }} as score
    from measured
    left join scores on measured.post_id = scores.post_id

)

select * from final
