{{ config(materialized='table') }}

{#- A/B/n tests (marts.md): per experiment and variant, the enrolled users (devices), those who
    converted (bought in a session of the experiment), the conversion rate, its lift against
    control with a 95% confidence interval (the ratio of the two rates, on the log scale), the
    two-proportion z-test's two-sided p-value against control, and a sample-ratio-mismatch
    check: the chi-square test of the users per variant against an even split, one p-value
    per experiment (a tiny one means the enrolment itself is broken, so read no lift). Over
    every session of the experiment so far: a small table, rebuilt whole. -#}

with

enrolments as (

    select
        experiment_id,
        variant,
        anonymous_id,
        max(case when purchases > 0 then 1 else 0 end) as converted
    from {{ ref('int_sessions') }}
    where experiment_id is not null and variant is not null
        and {{ not_held_back('session_date') }}
    group by experiment_id, variant, anonymous_id

),

variants as (

    select
        experiment_id,
        variant,
        count(*) as users,
        sum(converted) as converters
    from enrolments
    group by experiment_id, variant

),

with_control as (

    select
        variants.*,
        cast(variants.converters as double) / variants.users as conversion_rate,
        control.users as control_users,
        control.converters as control_converters,
        cast(control.converters as double) / control.users as control_rate,
        sum(variants.users) over (partition by variants.experiment_id) as experiment_users,
        count(*) over (partition by variants.experiment_id) as experiment_variants
    from variants
    left join variants as control
        on variants.experiment_id = control.experiment_id and control.variant = 'control'

),

tested as (

    select
        *,
        -- the two-proportion z statistic, on the pooled rate
        (conversion_rate - control_rate) / sqrt(
            ((converters + control_converters) / cast(users + control_users as double))
            * (1 - (converters + control_converters) / cast(users + control_users as double))
            * (1.0 / users + 1.0 / control_users)
        ) as z,
        -- the standard error of log(rate / control rate)
        sqrt(
            (1 - conversion_rate) / nullif(converters, 0)
            + (1 - control_rate) / nullif(control_converters, 0)
        ) as log_ratio_se,
        -- the chi-square statistic of the users per variant against an even split
        sum(
            power(users - experiment_users / cast(experiment_variants as double), 2)
            / (experiment_users / cast(experiment_variants as double))
        ) over (partition by experiment_id) as srm_chi_square
    from with_control

),

final as (

    -- rates and tests to six decimals: the normal distribution function used is accurate to
    -- 1e-7, and a p-value is read to a few digits
    select
        {{ surrogate_key(['experiment_id', 'variant']) }} as experiment_variant_id,
        experiment_id,
        variant,
        cast(users as bigint) as users,
        cast(converters as bigint) as converters,
        conversion_rate,
        case
            when variant <> 'control'
            then round(conversion_rate / nullif(control_rate, 0) - 1, 6)
        end as lift,
        case
            when variant <> 'control'
            then round(exp(
                ln(nullif(conversion_rate, 0) / nullif(control_rate, 0))
                - 1.959963984540054 * log_ratio_se
            ) - 1, 6)
        end as lift_ci_low,
        case
            when variant <> 'control'
            then round(exp(
                ln(nullif(conversion_rate, 0) / nullif(control_rate, 0))
                + 1.959963984540054 * log_ratio_se
            ) - 1, 6)
        end as lift_ci_high,
        case
            when variant <> 'control' then round(2 * (1 - {{ normal_cdf('abs(z)') }}), 6)
        end as p_value,
        round({{ chi_square_sf('srm_chi_square', 'experiment_variants - 1') }}, 6) as srm_p_value
    from tested

)

select * from final
