-- Grain: one row, the headline concentration figures of the trailing twelve months: the share of profit
-- earned by the most profitable 20% of customers (ceil(20%) of them, the customers of deciles 1 and 2),
-- the share of customers who lose money, what the unprofitable customers and the bottom decile destroy,
-- and the peak of the whale curve (the profit of the profitable customers as a share of the total).

with

customers as (

    select * from {{ ref('customer_profitability') }}

),

totals as (

    select
        max(as_of_month) as as_of_month,
        max(window_start_month) as window_start_month,
        count(*) as customer_count,
        sum(revenue) as total_revenue,
        sum(cost_to_serve) as total_cost_to_serve,
        sum(profit) as total_profit,
        -- coalesce: a warehouse with no customer P&L yet still gets its one row, with zero counts
        coalesce(sum(case when profit < 0 then 1 else 0 end), 0) as unprofitable_customers,
        coalesce(sum(case when profit > 0 then 1 else 0 end), 0) as profitable_customers,
        sum(case when profit > 0 then profit else 0 end) as profit_of_profitable_customers,
        sum(case when profit < 0 then -profit else 0 end) as loss_of_unprofitable_customers,
        sum(case when profit_decile = 10 then profit else 0 end) as bottom_decile_profit

    from customers

),

top_fifth as (

    select
        count(*) as top_20_customers,
        sum(customers.profit) as top_20_profit

    from customers
    cross join totals
    where customers.profit_rank <= floor((totals.customer_count * 20 + 99) / 100.0)

),

final as (

    select
        totals.as_of_month,
        totals.window_start_month,
        cast(totals.customer_count as bigint) as customers,
        cast(totals.total_revenue as {{ type_money() }}) as total_revenue,
        cast(totals.total_cost_to_serve as {{ type_money() }}) as total_cost_to_serve,
        cast(totals.total_profit as {{ type_money() }}) as total_profit,

        -- the top fifth
        cast(top_fifth.top_20_customers as bigint) as top_20_customers,
        cast(coalesce(top_fifth.top_20_profit, 0) as {{ type_money() }}) as top_20_profit,
        {{ share('top_fifth.top_20_profit', 'totals.total_profit') }} as top_20_profit_share,

        -- customers who lose money
        cast(totals.unprofitable_customers as bigint) as unprofitable_customers,
        {{ share('totals.unprofitable_customers', 'totals.customer_count') }} as unprofitable_customer_share,
        cast(totals.loss_of_unprofitable_customers as {{ type_money() }}) as profit_destroyed_by_unprofitable,

        -- the bottom decile
        cast(totals.bottom_decile_profit as {{ type_money() }}) as bottom_decile_profit,
        cast(
            case when totals.bottom_decile_profit < 0 then -totals.bottom_decile_profit else 0 end
            as {{ type_money() }}
        ) as profit_destroyed_by_bottom_decile,
        {{ share('totals.bottom_decile_profit', 'totals.total_profit') }} as bottom_decile_profit_share,

        -- the peak of the whale curve
        cast(totals.profitable_customers as bigint) as profitable_customers,
        cast(totals.profit_of_profitable_customers as {{ type_money() }}) as profit_of_profitable_customers,
        {{ share('totals.profit_of_profitable_customers', 'totals.total_profit') }}
            as peak_cumulative_profit_share

    from totals
    cross join top_fifth

)

select * from final
