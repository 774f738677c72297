-- Grain: one row per (from_decile, to_decile): how customers moved between profit deciles from the
-- previous month to the as-of month, each ranked on the twelve months up to that month. Decile 0 stands
-- for "not ranked": from_decile 0 = new in the window, to_decile 0 = no longer active.

with

previous as (

    {{ trailing_customer_profit(months_back=1) }}

),

current_month as (

    select * from {{ ref('customer_profitability') }}

),

to_month as (

    select max(as_of_month) as as_of_month from current_month

),

moves as (

    select
        coalesce(previous.profit_decile, 0) as from_decile,
        coalesce(current_month.profit_decile, 0) as to_decile

    from previous
    full outer join current_month
        on previous.customer_key = current_month.customer_key

),

counted as (

    select
        from_decile,
        to_decile,
        count(*) as customers

    from moves
    group by from_decile, to_decile

),

final as (

    select
        cast({{ dbt.dateadd('month', -1, 'to_month.as_of_month') }} as date) as from_month,
        to_month.as_of_month as to_month,
        cast(counted.from_decile as {{ dbt.type_int() }}) as from_decile,
        cast(counted.to_decile as {{ dbt.type_int() }}) as to_decile,
        cast(counted.customers as bigint) as customers,
        cast(
            cast(counted.customers as {{ type_double() }})
            / sum(counted.customers) over (partition by counted.from_decile)
            as {{ type_double() }}
        ) as share_of_from_decile

    from counted
    cross join to_month

)

select * from final
