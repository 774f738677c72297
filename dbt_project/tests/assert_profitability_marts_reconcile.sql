-- The marts add up to the customer P&L: customer_profitability holds exactly the profit, revenue and
-- cost to serve of fct_customer_month over the trailing window; the deciles, the whale curve's last point,
-- the concentration row and each segment dimension hold the same totals; the migration matrix counts
-- every customer ranked in either month. Returns a row per figure that differs.

with

as_of as (

    select max(month_start) as as_of_month
    from {{ ref('fct_customer_month') }}
    where not is_future_month

),

window_totals as (

    select
        count(distinct customer_month.customer_key) as customers,
        coalesce(sum(customer_month.revenue), 0) as revenue,
        coalesce(sum(customer_month.cost_to_serve), 0) as cost_to_serve,
        coalesce(sum(customer_month.profit), 0) as profit

    from {{ ref('fct_customer_month') }} as customer_month
    cross join as_of
    where customer_month.month_start <= as_of.as_of_month
        and customer_month.month_start
            > cast({{ dbt.dateadd('month', -(var('profitability_window_months') | int), 'as_of.as_of_month') }} as date)

),

customer_totals as (

    select
        count(*) as customers,
        coalesce(sum(revenue), 0) as revenue,
        coalesce(sum(cost_to_serve), 0) as cost_to_serve,
        coalesce(sum(profit), 0) as profit

    from {{ ref('customer_profitability') }}

),

decile_totals as (

    select
        coalesce(sum(customers), 0) as customers,
        coalesce(sum(revenue), 0) as revenue,
        coalesce(sum(cost_to_serve), 0) as cost_to_serve,
        coalesce(sum(profit), 0) as profit

    from {{ ref('profitability_deciles') }}

),

whale_end as (

    select customers, cumulative_profit as profit
    from {{ ref('profitability_whale_curve') }}
    where percentile = 100

),

concentration as (

    select * from {{ ref('profitability_concentration') }}

),

segment_totals as (

    select
        dimension,
        sum(customers) as customers,
        sum(revenue) as revenue,
        sum(profit) as profit

    from {{ ref('profitability_by_segment') }}
    group by dimension

),

migration_totals as (

    select
        sum(case when to_decile > 0 then customers else 0 end) as ranked_now

    from {{ ref('profitability_decile_migration') }}

),

figures as (

    select 'customers' as figure, cast(window_totals.customers as decimal(38,2)) as expected,
        cast(customer_totals.customers as decimal(38,2)) as actual
    from window_totals cross join customer_totals
    union all
    select 'revenue', cast(window_totals.revenue as decimal(38,2)), cast(customer_totals.revenue as decimal(38,2))
    from window_totals cross join customer_totals
    union all
    select 'cost_to_serve', cast(window_totals.cost_to_serve as decimal(38,2)),
        cast(customer_totals.cost_to_serve as decimal(38,2))
    from window_totals cross join customer_totals
    union all
    select 'profit', cast(window_totals.profit as decimal(38,2)), cast(customer_totals.profit as decimal(38,2))
    from window_totals cross join customer_totals
    union all
    select 'decile customers', cast(customer_totals.customers as decimal(38,2)), cast(decile_totals.customers as decimal(38,2))
    from customer_totals cross join decile_totals
    union all
    select 'decile revenue', cast(customer_totals.revenue as decimal(38,2)), cast(decile_totals.revenue as decimal(38,2))
    from customer_totals cross join decile_totals
    union all
    select 'decile cost_to_serve', cast(customer_totals.cost_to_serve as decimal(38,2)),
        cast(decile_totals.cost_to_serve as decimal(38,2))
    from customer_totals cross join decile_totals
    union all
    select 'decile profit', cast(customer_totals.profit as decimal(38,2)), cast(decile_totals.profit as decimal(38,2))
    from customer_totals cross join decile_totals
    union all
    select 'whale curve customers', cast(customer_totals.customers as decimal(38,2)), cast(whale_end.customers as decimal(38,2))
    from customer_totals cross join whale_end
    union all
    select 'whale curve profit', cast(customer_totals.profit as decimal(38,2)), cast(whale_end.profit as decimal(38,2))
    from customer_totals cross join whale_end
    union all
    select 'concentration customers', cast(customer_totals.customers as decimal(38,2)),
        cast(concentration.customers as decimal(38,2))
    from customer_totals cross join concentration
    union all
    select 'concentration profit', cast(customer_totals.profit as decimal(38,2)),
        cast(coalesce(concentration.total_profit, 0) as decimal(38,2))
    from customer_totals cross join concentration
    union all
    select 'concentration profit split', cast(customer_totals.profit as decimal(38,2)),
        cast(coalesce(concentration.profit_of_profitable_customers - concentration.profit_destroyed_by_unprofitable, 0)
            as decimal(38,2))
    from customer_totals cross join concentration
    union all
    select {{ dbt.concat(["'segment customers by '", 'segment_totals.dimension']) }},
        cast(customer_totals.customers as decimal(38,2)), cast(segment_totals.customers as decimal(38,2))
    from customer_totals cross join segment_totals
    union all
    select {{ dbt.concat(["'segment profit by '", 'segment_totals.dimension']) }},
        cast(customer_totals.profit as decimal(38,2)), cast(segment_totals.profit as decimal(38,2))
    from customer_totals cross join segment_totals
    union all
    select 'migration customers ranked now', cast(customer_totals.customers as decimal(38,2)),
        cast(coalesce(migration_totals.ranked_now, 0) as decimal(38,2))
    from customer_totals cross join migration_totals

)

select * from figures
where expected <> actual
