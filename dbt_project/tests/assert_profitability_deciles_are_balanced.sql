-- Profit deciles cover 1..10 with near-equal counts (at most one customer apart) once there are at least
-- ten customers, and are ordered: every customer of decile d earns at least as much as any of decile d + 1;
-- profitability_deciles counts the same customers per decile. Returns a row per problem.

with

customers as (

    select * from {{ ref('customer_profitability') }}

),

counts as (

    select
        count(*) as customer_count,
        count(distinct profit_decile) as decile_count,
        min(profit_decile) as lowest_decile,
        max(profit_decile) as highest_decile

    from customers

),

per_decile as (

    select
        profit_decile,
        count(*) as customers,
        min(profit) as min_profit,
        max(profit) as max_profit

    from customers
    group by profit_decile

),

coverage as (

    select
        'deciles 1..10 not all present' as problem,
        cast(decile_count as {{ dbt.type_bigint() }}) as detail

    from counts
    where customer_count >= 10
        and (decile_count <> 10 or lowest_decile <> 1 or highest_decile <> 10)

),

balance as (

    select
        'decile sizes differ by more than one' as problem,
        cast(max(customers) - min(customers) as {{ dbt.type_bigint() }}) as detail

    from per_decile
    having max(customers) - min(customers) > 1

),

ordering as (

    select
        'a decile earns more than the one above it' as problem,
        cast(lower_decile.profit_decile as {{ dbt.type_bigint() }}) as detail

    from per_decile as lower_decile
    inner join per_decile as upper_decile
        on lower_decile.profit_decile = upper_decile.profit_decile + 1
    where lower_decile.max_profit > upper_decile.min_profit

),

summarised as (

    select
        'profitability_deciles counts other customers' as problem,
        cast(per_decile.profit_decile as {{ dbt.type_bigint() }}) as detail

    from per_decile
    full outer join {{ ref('profitability_deciles') }} as deciles
        on per_decile.profit_decile = deciles.profit_decile
    where per_decile.customers is null
        or deciles.customers is null
        or per_decile.customers <> deciles.customers

)

select * from coverage
union all
select * from summarised
union all
select * from balance
union all
select * from ordering
