-- Grain: one point per whole percentile 0..100 of customers ranked from most to least profitable over the
-- trailing twelve months: the top `customers` (ceil(percentile% of all)) and the share of total profit
-- they earn. The curve rises above 1 while profitable customers are added and falls back to 1 as the
-- unprofitable ones bring it down: the whale.

with

customers as (

    select * from {{ ref('customer_profitability') }}

),

totals as (

    select
        max(as_of_month) as as_of_month,
        count(*) as customer_count,
        sum(profit) as total_profit

    from customers

),

running as (

    select
        profit_rank,
        sum(profit) over (order by profit_rank rows between unbounded preceding and current row)
            as cumulative_profit

    from customers

),

percentiles as (

    select n as percentile
    from ({{ number_spine(3) }}) as numbers
    where n <= 100

),

points as (

    select
        percentiles.percentile,
        cast(floor((totals.customer_count * percentiles.percentile + 99) / 100.0) as bigint) as customers

    from percentiles
    cross join totals

),

final as (

    select
        cast(points.percentile as {{ dbt.type_int() }}) as percentile,
        totals.as_of_month,
        points.customers,
        {{ share('points.customers', 'totals.customer_count') }} as customer_share,
        cast(coalesce(running.cumulative_profit, 0) as {{ type_money() }}) as cumulative_profit,
        {{ share('coalesce(running.cumulative_profit, 0)', 'totals.total_profit') }} as cumulative_profit_share

    from points
    cross join totals
    left join running
        on points.customers = running.profit_rank

)

select * from final
