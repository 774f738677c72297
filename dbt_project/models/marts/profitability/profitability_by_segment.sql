-- Grain: one row per (dimension, segment) over the trailing twelve months: revenue and profit by region
-- and by geodemographic segment of the customer's current record ('unknown' when it has none), with the
-- share of total profit and of customers who lose money.

with

customers as (

    select * from {{ ref('customer_profitability') }}

),

by_segment as (

    select
        'region' as dimension,
        region as segment,
        customer_key,
        revenue,
        cost_to_serve,
        profit,
        products_held

    from customers

    union all

    select
        'geo_segment' as dimension,
        geo_segment as segment,
        customer_key,
        revenue,
        cost_to_serve,
        profit,
        products_held

    from customers

),

aggregated as (

    select
        dimension,
        segment,
        count(*) as customers,
        sum(case when profit < 0 then 1 else 0 end) as unprofitable_customers,
        sum(revenue) as revenue,
        sum(cost_to_serve) as cost_to_serve,
        sum(profit) as profit,
        avg(cast(products_held as {{ type_double() }})) as avg_products_held

    from by_segment
    group by dimension, segment

),

totals as (

    select dimension, sum(profit) as total_profit
    from aggregated
    group by dimension

),

final as (

    select
        aggregated.dimension,
        aggregated.segment,
        cast(aggregated.customers as bigint) as customers,
        cast(aggregated.unprofitable_customers as bigint) as unprofitable_customers,
        cast(
            cast(aggregated.unprofitable_customers as {{ type_double() }}) / aggregated.customers
            as {{ type_double() }}
        ) as unprofitable_customer_share,
        cast(aggregated.revenue as {{ type_money() }}) as revenue,
        cast(aggregated.cost_to_serve as {{ type_money() }}) as cost_to_serve,
        cast(aggregated.profit as {{ type_money() }}) as profit,
        cast(aggregated.profit / aggregated.customers as {{ type_money() }}) as avg_profit,
        {{ share('aggregated.profit', 'totals.total_profit') }} as profit_share,
        cast(aggregated.avg_products_held as {{ type_double() }}) as avg_products_held

    from aggregated
    inner join totals
        on aggregated.dimension = totals.dimension

)

select * from final
