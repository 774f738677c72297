-- Shares add up: decile profit shares sum to 1 and the cumulative share ends at 1; the whale curve starts
-- at 0 and ends at 100% of customers and 100% of profit; segment profit shares sum to 1 per dimension;
-- migration shares sum to 1 per starting decile. Tolerance 1e-9 (shares are doubles). Skipped where
-- total profit is zero (shares are null then). Returns a row per share that does not add up.

with

deciles as (

    select
        sum(profit_share) as total_share,
        max(case when profit_decile = 10 then cumulative_profit_share end) as last_cumulative_share

    from {{ ref('profitability_deciles') }}
    having sum(profit) <> 0

),

whale as (

    select
        max(case when percentile = 0 then cumulative_profit_share end) as first_share,
        max(case when percentile = 100 then cumulative_profit_share end) as last_share,
        max(case when percentile = 100 then customer_share end) as last_customer_share

    from {{ ref('profitability_whale_curve') }}
    having max(case when percentile = 100 then cumulative_profit end) <> 0

),

segments as (

    select
        dimension,
        sum(profit_share) as total_share

    from {{ ref('profitability_by_segment') }}
    group by dimension
    having sum(profit) <> 0

),

migration as (

    select
        from_decile,
        sum(share_of_from_decile) as total_share

    from {{ ref('profitability_decile_migration') }}
    group by from_decile

),

problems as (

    select 'decile profit shares' as share, total_share as value from deciles
    where abs(total_share - 1) > 1e-9
    union all
    select 'decile cumulative share at decile 10', last_cumulative_share from deciles
    where abs(last_cumulative_share - 1) > 1e-9
    union all
    select 'whale curve at 0%', first_share from whale
    where abs(first_share) > 1e-9
    union all
    select 'whale curve at 100%', last_share from whale
    where abs(last_share - 1) > 1e-9
    union all
    select 'whale curve customers at 100%', last_customer_share from whale
    where abs(last_customer_share - 1) > 1e-9
    union all
    select {{ dbt.concat(["'segment shares of '", 'dimension']) }}, total_share from segments
    where abs(total_share - 1) > 1e-9
    union all
    select 'migration shares of a starting decile', total_share from migration
    where abs(total_share - 1) > 1e-9

)

select * from problems
