-- Grain: one row per customer with any P&L in the trailing twelve months up to the as-of month (the
-- month of the latest delivery): the customer's profit over those months, its rank and decile
-- (1 = most profitable tenth; ties broken by customer_key), products held, channel use, region and
-- geodemographic segment of the customer's current record.

with

windowed as (

    {{ trailing_customer_profit(months_back=0) }}

),

customers as (

    select * from {{ ref('dim_customer') }}
    where is_current

),

geography as (

    select * from {{ ref('dim_geography') }}

),

final as (

    select
        -- keys
        windowed.customer_key,
        windowed.as_of_month,
        cast({{ dbt.dateadd('month', 1 - (var('profitability_window_months') | int), 'windowed.as_of_month') }} as date)
            as window_start_month,

        -- P&L over the window
        windowed.revenue,
        windowed.direct_cost,
        windowed.cost_to_serve,
        windowed.cost_to_serve_assisted,
        windowed.cost_to_serve_self_service,
        windowed.servicing_cost,
        windowed.marketing_cost,
        windowed.profit,
        case when windowed.profit < 0 then true else false end as is_unprofitable,

        -- ranking
        windowed.profit_rank,
        windowed.profit_decile,

        -- activity
        windowed.active_months,
        windowed.products_held,
        windowed.transactions,
        windowed.interactions,
        windowed.assisted_interactions,
        windowed.self_service_interactions,
        windowed.campaign_contacts,

        -- who
        coalesce(customers.region, 'unknown') as region,
        coalesce(geography.geo_segment, 'unknown') as geo_segment

    from windowed
    left join customers
        on windowed.customer_key = customers.customer_key
    left join geography
        on customers.postcode_key = geography.postcode_key

)

select * from final
