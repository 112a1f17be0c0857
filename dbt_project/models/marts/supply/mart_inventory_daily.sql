{#- marts.md: days of supply over the trailing 28 days of sales, turnover over the trailing
    30 days (macro inventory_windows); the thresholds are seed supply_thresholds. -#}
{%- set sales_window_days = inventory_windows()['sales_days'] -%}
{%- set turnover_window_days = inventory_windows()['turnover_days'] -%}
{{ config(**incremental_by_date('date_day', hold_back=true)) }}
-- depends_on: {{ ref('int_rebuilt_dates') }}

with

thresholds as (

    select
        max(case when threshold = 'stockout_max_available' then value end) as stockout_max_available,
        max(case when threshold = 'safety_stock_factor' then value end) as safety_stock_factor
    from {{ ref('supply_thresholds') }}

),

stock_levels as (

    select * from {{ ref('stg_inventory__stock_levels') }}

),

products as (

    select sku_id, supplier_id, unit_cost, launch_date from {{ ref('dim_products') }}

),

stock as (

    -- end-of-day stock of a SKU over its warehouses; a warehouse counts as out of stock, or
    -- below safety, by the seed's thresholds
    select
        stock_levels.snapshot_date as date_day,
        stock_levels.sku_id,
        count(*) as warehouses,
        sum(stock_levels.on_hand) as on_hand,
        sum(stock_levels.reserved) as reserved,
        sum(stock_levels.available) as available,
        sum(stock_levels.in_transit) as in_transit,
        sum(stock_levels.safety_stock) as safety_stock,
        sum(case when stock_levels.available <= thresholds.stockout_max_available then 1 else 0 end)
            as stockout_warehouses,
        sum(case
            when stock_levels.available < stock_levels.safety_stock * thresholds.safety_stock_factor
                then 1
            else 0
        end) as below_safety_warehouses
    from stock_levels
    cross join thresholds
    group by stock_levels.snapshot_date, stock_levels.sku_id

),

sold as (

    select date_day, sku_id, sum(units) as units_sold
    from {{ ref('fct_order_items') }}
    group by date_day, sku_id

),

daily as (

    select
        stock.*,
        products.supplier_id,
        products.unit_cost,
        -- a SKU before its launch has no stock to run out of
        coalesce(products.launch_date <= stock.date_day, true) as is_launched,
        cast(coalesce(sold.units_sold, 0) as bigint) as units_sold,
        cast(stock.on_hand * products.unit_cost as decimal(18, 2)) as inventory_value,
        cast(coalesce(sold.units_sold, 0) * products.unit_cost as decimal(18, 2)) as cogs
    from stock
    left join sold on stock.date_day = sold.date_day and stock.sku_id = sold.sku_id
    left join products on stock.sku_id = products.sku_id

),

{% if is_daily_run() %}
rebuilt as (

    -- the dates the run restates, and the dates after them whose trailing windows hold them
    select * from daily
    where date_day in {{ rebuilt_dates_with_window(['inventory', 'orders'], 'daily', 'date_day', turnover_window_days) }}

),
{% else %}
rebuilt as (

    select * from daily

),
{% endif %}

trailing_sums as (

    select
        rebuilt.date_day,
        rebuilt.sku_id,
        sum(case
            when history.date_day >= {{ add_days('rebuilt.date_day', 1 - sales_window_days) }}
                then history.units_sold
        end) as units_sold_28d,
        sum(case
            when history.date_day >= {{ add_days('rebuilt.date_day', 1 - sales_window_days) }}
                then 1
            else 0
        end) as sales_window_days,
        sum(history.cogs) as cogs_30d,
        sum(history.inventory_value) as inventory_value_30d,
        count(*) as turnover_window_days
    from rebuilt
    inner join daily as history
        on rebuilt.sku_id = history.sku_id
        and history.date_day between {{ add_days('rebuilt.date_day', 1 - turnover_window_days) }}
        and rebuilt.date_day
    group by rebuilt.date_day, rebuilt.sku_id

),

final as (

    select
        ----------  ids
        {{ surrogate_key(['rebuilt.date_day', 'rebuilt.sku_id']) }} as inventory_day_id,
        rebuilt.date_day,
        rebuilt.sku_id,
        rebuilt.supplier_id,

        ----------  stock (units, over the SKU's warehouses)
        cast(rebuilt.warehouses as integer) as warehouses,
        cast(rebuilt.on_hand as bigint) as on_hand,
        cast(rebuilt.reserved as bigint) as reserved,
        cast(rebuilt.available as bigint) as available,
        cast(rebuilt.in_transit as bigint) as in_transit,
        cast(rebuilt.safety_stock as bigint) as safety_stock,

        ----------  sales
        rebuilt.units_sold,
        cast(trailing_sums.units_sold_28d as bigint) as units_sold_28d,
        cast(trailing_sums.sales_window_days as integer) as sales_window_days,
        case
            when trailing_sums.units_sold_28d > 0
                then cast(greatest(rebuilt.available, 0) as double)
                    / (cast(trailing_sums.units_sold_28d as double) / trailing_sums.sales_window_days)
        end as days_of_supply,

        ----------  flags
        cast(case when rebuilt.is_launched then rebuilt.stockout_warehouses else 0 end as integer)
            as stockout_warehouses,
        cast(case when rebuilt.is_launched then rebuilt.below_safety_warehouses else 0 end as integer)
            as below_safety_warehouses,
        rebuilt.is_launched and rebuilt.stockout_warehouses > 0 as is_stockout,
        rebuilt.is_launched and rebuilt.below_safety_warehouses > 0 as is_below_safety,

        ----------  value at cost (CNY)
        cast(rebuilt.unit_cost as decimal(18, 2)) as unit_cost,
        rebuilt.inventory_value,
        rebuilt.cogs,
        cast(trailing_sums.cogs_30d as decimal(18, 2)) as cogs_30d,
        cast(trailing_sums.inventory_value_30d as double) / trailing_sums.turnover_window_days
            as mean_inventory_value_30d,
        case
            when trailing_sums.inventory_value_30d > 0
                then cast(trailing_sums.cogs_30d as double)
                    / (cast(trailing_sums.inventory_value_30d as double) / trailing_sums.turnover_window_days)
        end as turnover

    from rebuilt
    inner join trailing_sums
        on rebuilt.date_day = trailing_sums.date_day and rebuilt.sku_id = trailing_sums.sku_id
    where {{ not_held_back('rebuilt.date_day') }}

)

select * from final
