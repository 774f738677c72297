-- Grain: one row per profit decile (1 = most profitable tenth of customers) over the trailing twelve
-- months: customers, P&L, each decile's share of total profit and the running share from decile 1, average
-- products held and channel mix. Answers whether the best and the worst customers hold as many products.

with

customers as (

    select * from {{ ref('customer_profitability') }}

),

deciles as (

    select
        profit_decile,
        max(as_of_month) as as_of_month,
        cast(count(*) as bigint) as customers,
        cast(sum(case when is_unprofitable then 1 else 0 end) as bigint) as unprofitable_customers,
        cast(sum(revenue) as {{ type_money() }}) as revenue,
        cast(sum(direct_cost) as {{ type_money() }}) as direct_cost,
        cast(sum(cost_to_serve) as {{ type_money() }}) as cost_to_serve,
        cast(sum(cost_to_serve_assisted) as {{ type_money() }}) as cost_to_serve_assisted,
        cast(sum(servicing_cost) as {{ type_money() }}) as servicing_cost,
        cast(sum(marketing_cost) as {{ type_money() }}) as marketing_cost,
        cast(sum(profit) as {{ type_money() }}) as profit,
        cast(min(profit) as {{ type_money() }}) as min_profit,
        cast(max(profit) as {{ type_money() }}) as max_profit,
        cast(avg(cast(products_held as {{ type_double() }})) as {{ type_double() }}) as avg_products_held,
        cast(sum(interactions) as bigint) as interactions,
        cast(sum(assisted_interactions) as bigint) as assisted_interactions,
        cast(sum(self_service_interactions) as bigint) as self_service_interactions

    from customers
    group by profit_decile

),

totals as (

    select sum(profit) as total_profit from deciles

),

final as (

    select
        deciles.profit_decile,
        deciles.as_of_month,
        deciles.customers,
        deciles.unprofitable_customers,

        -- P&L
        deciles.revenue,
        deciles.direct_cost,
        deciles.cost_to_serve,
        deciles.servicing_cost,
        deciles.marketing_cost,
        deciles.profit,
        cast(deciles.profit / deciles.customers as {{ type_money() }}) as avg_profit,
        deciles.min_profit,
        deciles.max_profit,

        -- concentration (null when total profit is zero)
        {{ share('deciles.profit', 'totals.total_profit') }} as profit_share,
        {{ share(
            'sum(deciles.profit) over (order by deciles.profit_decile rows between unbounded preceding and current row)',
            'totals.total_profit'
        ) }} as cumulative_profit_share,

        -- products and channel mix
        deciles.avg_products_held,
        deciles.interactions,
        {{ share('deciles.assisted_interactions', 'deciles.interactions') }} as assisted_interaction_share,
        {{ share('deciles.self_service_interactions', 'deciles.interactions') }} as self_service_interaction_share,
        {{ share('deciles.cost_to_serve_assisted', 'deciles.cost_to_serve') }} as assisted_cost_to_serve_share

    from deciles
    cross join totals

)

select * from final
