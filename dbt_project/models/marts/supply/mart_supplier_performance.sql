{#- Rebuilt whole on every run (a table): supplier x month is small (a few thousand rows for
    years of a large brand), a purchase order counts in the month of its final receipt, which a
    later folder decides, and the risk score reads the current supplier master. -#}
{{ config(materialized='table') }}

with

weights as (

    select * from {{ ref('supplier_risk_weights') }}

),

tier_risk as (

    select * from {{ ref('supplier_tier_risk') }}

),

suppliers as (

    select * from {{ ref('stg_suppliers__suppliers') }}

),

received_orders as (

    -- a purchase order is judged once it is closed by its final receipt, in that month;
    -- cancelled and still-open orders are not judged
    select
        supplier_id,
        {{ month_start('cast(received_at as date)') }} as month_start,
        qty_ordered,
        qty_received,
        cast(received_at as date) <= promised_date as is_on_time,
        qty_received >= qty_ordered as is_in_full,
        cast({{ seconds_between('ordered_at', 'received_at') }} as decimal(38, 0)) as lead_time_seconds
    from {{ ref('stg_purchase_orders__purchase_orders') }}
    where status = 'received'

),

monthly as (

    select
        supplier_id,
        month_start,
        count(*) as purchase_orders,
        sum(case when is_on_time then 1 else 0 end) as on_time_orders,
        sum(case when is_in_full then 1 else 0 end) as in_full_orders,
        sum(case when is_on_time and is_in_full then 1 else 0 end) as otif_orders,
        sum(qty_ordered) as units_ordered,
        sum(qty_received) as units_received,
        -- exact sums of whole seconds: the mean and spread come out the same bits on every
        -- run and engine (a sum of doubles depends on the order it is taken in)
        sum(lead_time_seconds) as lead_time_seconds_sum,
        sum(lead_time_seconds * lead_time_seconds) as lead_time_seconds_squares
    from received_orders
    group by supplier_id, month_start

),

rates as (

    select
        monthly.*,
        cast(monthly.on_time_orders as double) / monthly.purchase_orders as on_time_rate,
        cast(monthly.in_full_orders as double) / monthly.purchase_orders as in_full_rate,
        cast(monthly.otif_orders as double) / monthly.purchase_orders as otif_rate,
        case
            when monthly.units_ordered > 0
                then cast(monthly.units_received as double) / monthly.units_ordered
        end as fill_rate,
        cast(monthly.lead_time_seconds_sum as double) / monthly.purchase_orders / 86400
            as lead_time_mean_days,
        case
            when monthly.purchase_orders > 1
                then sqrt(
                    cast(
                        monthly.purchase_orders * monthly.lead_time_seconds_squares
                        - monthly.lead_time_seconds_sum * monthly.lead_time_seconds_sum
                        as double
                    )
                    / (monthly.purchase_orders * (monthly.purchase_orders - 1))
                ) / 86400
        end as lead_time_std_days,
        suppliers.supplier_name,
        suppliers.tier,
        suppliers.is_certified,
        suppliers.backup_supplier_id,
        suppliers.backup_supplier_id is null as is_single_sourced,
        tier_risk.tier_risk
    from monthly
    left join suppliers on monthly.supplier_id = suppliers.supplier_id
    left join tier_risk on suppliers.tier = tier_risk.tier

),

scale as (

    -- one row: each component's weight and the raw value at which it is full risk
    select
        {%- for component in ['lateness', 'shortfall', 'lead_time_variability', 'single_sourcing', 'tier', 'certification'] %}
        max(case when component = '{{ component }}' then weight end) as {{ component }}_weight,
        max(case when component = '{{ component }}' then full_risk_at end) as {{ component }}_full_at,
        {%- endfor %}
        -- an exact sum (a sum of doubles depends on the order it is taken in)
        cast(sum(cast(weight as decimal(18, 6))) as double) as total_weight
    from weights

),

components as (

    -- each component 0..1: its raw value over the value of full risk, capped at 1
    select
        rates.*,
        scale.*,
        least(1.0, (1 - rates.on_time_rate) / scale.lateness_full_at) as lateness_risk,
        least(1.0, greatest(0.0, 1 - coalesce(rates.fill_rate, 1)) / scale.shortfall_full_at)
            as shortfall_risk,
        least(
            1.0,
            coalesce(rates.lead_time_std_days / nullif(rates.lead_time_mean_days, 0), 0)
            / scale.lead_time_variability_full_at
        ) as lead_time_variability_risk,
        least(1.0, case when rates.is_single_sourced then 1.0 else 0.0 end / scale.single_sourcing_full_at)
            as single_sourcing_risk,
        least(1.0, coalesce(rates.tier_risk, 1.0) / scale.tier_full_at) as tier_risk_component,
        least(1.0, case when rates.is_certified then 0.0 else 1.0 end / scale.certification_full_at)
            as certification_risk
    from rates
    cross join scale

),

final as (

    select
        ----------  ids
        {{ surrogate_key(['supplier_id', 'month_start']) }} as supplier_month_id,
        supplier_id,
        month_start,
        supplier_name,
        tier,
        is_certified,
        backup_supplier_id,

        ----------  purchase orders closed in the month
        cast(purchase_orders as integer) as purchase_orders,
        cast(on_time_orders as integer) as on_time_orders,
        cast(in_full_orders as integer) as in_full_orders,
        cast(otif_orders as integer) as otif_orders,
        cast(units_ordered as bigint) as units_ordered,
        cast(units_received as bigint) as units_received,

        ----------  rates (0..1)
        on_time_rate,
        in_full_rate,
        otif_rate,
        fill_rate,

        ----------  lead time (days from order to final receipt)
        lead_time_mean_days,
        lead_time_std_days,

        ----------  risk: components 0..1, score 0..100 (weights: seed supplier_risk_weights)
        is_single_sourced,
        lateness_risk,
        shortfall_risk,
        lead_time_variability_risk,
        single_sourcing_risk,
        tier_risk_component as tier_risk,
        certification_risk,
        -- to six decimals: a score of 0..100 is read to a point, and its last bits would
        -- follow the order floating-point terms were added in
        round(100 * (
            lateness_weight * lateness_risk
            + shortfall_weight * shortfall_risk
            + lead_time_variability_weight * lead_time_variability_risk
            + single_sourcing_weight * single_sourcing_risk
            + tier_weight * tier_risk_component
            + certification_weight * certification_risk
        ) / total_weight, 6) as risk_score

    from components

)

select * from final
