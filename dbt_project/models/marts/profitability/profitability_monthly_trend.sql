-- Grain: one row per month of P&L history up to the as-of month: revenue, cost to serve (assisted and
-- self-service) and profit trends, active customers, and contacts per unit of sales (service interactions
-- plus campaign contacts per product holding opened in the month, and per 1,000 of revenue).

with

customer_months as (

    select * from {{ ref('fct_customer_month') }}
    where not is_future_month

),

holdings as (

    select * from {{ ref('fct_holdings') }}

),

months as (

    select
        month_start,
        count(*) as active_customers,
        sum(revenue) as revenue,
        sum(direct_cost) as direct_cost,
        sum(cost_to_serve) as cost_to_serve,
        sum(cost_to_serve_assisted) as cost_to_serve_assisted,
        sum(cost_to_serve_self_service) as cost_to_serve_self_service,
        sum(servicing_cost) as servicing_cost,
        sum(marketing_cost) as marketing_cost,
        sum(profit) as profit,
        sum(interactions) as interactions,
        sum(assisted_interactions) as assisted_interactions,
        sum(campaign_contacts) as campaign_contacts

    from customer_months
    group by month_start

),

sales as (

    select
        cast({{ dbt.date_trunc('month', 'opened_date') }} as date) as month_start,
        count(*) as products_sold

    from holdings
    group by 1

),

final as (

    select
        months.month_start,
        cast(months.active_customers as bigint) as active_customers,

        -- P&L
        cast(months.revenue as {{ type_money() }}) as revenue,
        cast(months.direct_cost as {{ type_money() }}) as direct_cost,
        cast(months.cost_to_serve as {{ type_money() }}) as cost_to_serve,
        cast(months.cost_to_serve_assisted as {{ type_money() }}) as cost_to_serve_assisted,
        cast(months.cost_to_serve_self_service as {{ type_money() }}) as cost_to_serve_self_service,
        cast(months.servicing_cost as {{ type_money() }}) as servicing_cost,
        cast(months.marketing_cost as {{ type_money() }}) as marketing_cost,
        cast(months.profit as {{ type_money() }}) as profit,
        cast(months.revenue / months.active_customers as {{ type_money() }}) as revenue_per_customer,
        cast(months.cost_to_serve / months.active_customers as {{ type_money() }}) as cost_to_serve_per_customer,

        -- contacts and sales
        cast(months.interactions as bigint) as interactions,
        cast(months.assisted_interactions as bigint) as assisted_interactions,
        cast(months.campaign_contacts as bigint) as campaign_contacts,
        cast(coalesce(sales.products_sold, 0) as bigint) as products_sold,
        {{ share('months.interactions + months.campaign_contacts', 'sales.products_sold') }} as contacts_per_product_sold,
        cast(
            case when months.revenue > 0
                then cast(months.interactions + months.campaign_contacts as {{ type_double() }}) * 1000
                    / cast(months.revenue as {{ type_double() }})
            end as {{ type_double() }}
        ) as contacts_per_1000_revenue

    from months
    left join sales
        on months.month_start = sales.month_start

)

select * from final
