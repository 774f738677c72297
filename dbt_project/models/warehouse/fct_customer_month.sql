-- Grain: one row per customer and calendar month in which the customer had revenue, an interaction, a
-- campaign contact or an open holding: the customer P&L.
--   profit = revenue - direct_cost - cost_to_serve - servicing_cost - marketing_cost
-- revenue and direct cost from fct_transactions; cost to serve from fct_customer_month_channel (time-driven
-- activity-based costing); servicing cost = the product's monthly_servicing_cost (seeds/products.csv) for
-- every month a holding is open on at least one day; marketing cost = the campaign's cost_per_contact (or
-- its channel's default, seeds/channels.csv) for every contact that was not held out as control.
-- Every event lands in the month it happened, so the totals reconcile exactly with the facts. Holdings
-- are costed only from the first month of event history to the as-of month (the month of the latest
-- delivery): before that there is no revenue to set against them. Months after the as-of month exist only
-- for future-dated events (is_future_month).

with

transactions as (

    select * from {{ ref('fct_transactions') }}

),

customer_month_channels as (

    select * from {{ ref('fct_customer_month_channel') }}

),

holdings as (

    select * from {{ ref('fct_holdings') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

campaign_contacts as (

    select * from {{ ref('fct_campaign_contacts') }}

),

campaigns as (

    select * from {{ ref('dim_campaign') }}

),

channels as (

    select * from {{ ref('channels') }}

),

-- The P&L window: first month of event history to the month of the latest delivery.
bounds as (

    {{ customer_pnl_bounds() }}

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start
    from ({{ day_spine('bounds', 'first_month', 'as_of_month') }}) as days

),

transaction_months as (

    select
        customer_key,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as month_start,
        sum(amount) as revenue,
        sum(coalesce(cost, 0)) as direct_cost,
        count(*) as transactions

    from transactions
    group by 1, 2

),

interaction_months as (

    select
        customer_key,
        month_start,
        sum(cost_to_serve) as cost_to_serve,
        sum(case when is_assisted then cost_to_serve else 0 end) as cost_to_serve_assisted,
        sum(case when not is_assisted then cost_to_serve else 0 end) as cost_to_serve_self_service,
        sum(interactions) as interactions,
        sum(case when is_assisted then interactions else 0 end) as assisted_interactions,
        sum(case when not is_assisted then interactions else 0 end) as self_service_interactions,
        sum(unpriced_interactions) as unpriced_interactions,
        sum(complaints) as complaints

    from customer_month_channels
    group by customer_key, month_start

),

-- A holding is open from the day it opened to the day before it closed (at least its opening day).
holding_spans as (

    select
        holdings.customer_key,
        holdings.product_id,
        products.monthly_servicing_cost,
        cast({{ dbt.date_trunc('month', 'holdings.opened_date') }} as date) as first_held_month,
        case
            when holdings.closed_date is null then null
            when holdings.closed_date > holdings.opened_date
                then cast({{ dbt.date_trunc('month', dbt.dateadd('day', -1, 'holdings.closed_date')) }} as date)
            else cast({{ dbt.date_trunc('month', 'holdings.opened_date') }} as date)
        end as last_held_month

    from holdings
    left join products
        on holdings.product_id = products.product_id

),

-- Holdings per customer, month and product first, then per customer and month: counting the products
-- this way (rather than count(distinct)) lets the engine spill to disk at scale.
holding_product_months as (

    select
        holding_spans.customer_key,
        months.month_start,
        holding_spans.product_id,
        sum(coalesce(holding_spans.monthly_servicing_cost, 0)) as servicing_cost,
        count(*) as holdings,
        sum(case when holding_spans.monthly_servicing_cost is null then 1 else 0 end) as unpriced_holdings

    from holding_spans
    inner join months
        on months.month_start >= holding_spans.first_held_month
        and (holding_spans.last_held_month is null or months.month_start <= holding_spans.last_held_month)
    group by holding_spans.customer_key, months.month_start, holding_spans.product_id

),

holding_months as (

    select
        customer_key,
        month_start,
        sum(servicing_cost) as servicing_cost,
        sum(holdings) as holdings,
        count(*) as products_held,
        sum(unpriced_holdings) as unpriced_holdings

    from holding_product_months
    group by customer_key, month_start

),

contact_costs as (

    select
        campaign_contacts.customer_key,
        cast({{ dbt.date_trunc('month', 'campaign_contacts.contacted_date') }} as date) as month_start,
        campaign_contacts.is_control,
        campaign_contacts.has_responded,
        coalesce(campaigns.cost_per_contact, channels.cost_per_contact) as cost_per_contact

    from campaign_contacts
    left join campaigns
        on campaign_contacts.campaign_key = campaigns.campaign_key
    left join channels
        on campaigns.channel_id = lower(trim(channels.channel_id))

),

contact_months as (

    select
        customer_key,
        month_start,
        sum(case when is_control then 0 else coalesce(cost_per_contact, 0) end) as marketing_cost,
        sum(case when is_control then 0 else 1 end) as campaign_contacts,
        sum(case when not is_control and has_responded then 1 else 0 end) as campaign_responses,
        sum(case when not is_control and cost_per_contact is null then 1 else 0 end) as unpriced_contacts

    from contact_costs
    group by customer_key, month_start

),

-- Every measure of every source side by side, then summed per customer and month.
unioned as (

    select
        customer_key, month_start,
        revenue, direct_cost, transactions,
        0 as cost_to_serve, 0 as cost_to_serve_assisted, 0 as cost_to_serve_self_service,
        0 as interactions, 0 as assisted_interactions, 0 as self_service_interactions,
        0 as unpriced_interactions, 0 as complaints,
        0 as servicing_cost, 0 as holdings, 0 as products_held, 0 as unpriced_holdings,
        0 as marketing_cost, 0 as campaign_contacts, 0 as campaign_responses, 0 as unpriced_contacts
    from transaction_months

    union all

    select
        customer_key, month_start,
        0, 0, 0,
        cost_to_serve, cost_to_serve_assisted, cost_to_serve_self_service,
        interactions, assisted_interactions, self_service_interactions,
        unpriced_interactions, complaints,
        0, 0, 0, 0,
        0, 0, 0, 0
    from interaction_months

    union all

    select
        customer_key, month_start,
        0, 0, 0,
        0, 0, 0,
        0, 0, 0,
        0, 0,
        servicing_cost, holdings, products_held, unpriced_holdings,
        0, 0, 0, 0
    from holding_months

    union all

    select
        customer_key, month_start,
        0, 0, 0,
        0, 0, 0,
        0, 0, 0,
        0, 0,
        0, 0, 0, 0,
        marketing_cost, campaign_contacts, campaign_responses, unpriced_contacts
    from contact_months

),

summed as (

    select
        customer_key,
        month_start,
        cast(sum(revenue) as {{ type_money() }}) as revenue,
        cast(sum(direct_cost) as {{ type_money() }}) as direct_cost,
        cast(sum(cost_to_serve) as {{ type_money() }}) as cost_to_serve,
        cast(sum(cost_to_serve_assisted) as {{ type_money() }}) as cost_to_serve_assisted,
        cast(sum(cost_to_serve_self_service) as {{ type_money() }}) as cost_to_serve_self_service,
        cast(sum(servicing_cost) as {{ type_money() }}) as servicing_cost,
        cast(sum(marketing_cost) as {{ type_money() }}) as marketing_cost,
        cast(sum(transactions) as bigint) as transactions,
        cast(sum(interactions) as bigint) as interactions,
        cast(sum(assisted_interactions) as bigint) as assisted_interactions,
        cast(sum(self_service_interactions) as bigint) as self_service_interactions,
        cast(sum(complaints) as bigint) as complaints,
        cast(sum(holdings) as bigint) as holdings,
        cast(sum(products_held) as bigint) as products_held,
        cast(sum(campaign_contacts) as bigint) as campaign_contacts,
        cast(sum(campaign_responses) as bigint) as campaign_responses,
        cast(sum(unpriced_interactions) as bigint) as unpriced_interactions,
        cast(sum(unpriced_holdings) as bigint) as unpriced_holdings,
        cast(sum(unpriced_contacts) as bigint) as unpriced_contacts

    from unioned
    group by customer_key, month_start

),

final as (

    select
        -- keys
        summed.customer_key,
        summed.month_start,

        -- P&L
        summed.revenue,
        summed.direct_cost,
        summed.cost_to_serve,
        summed.cost_to_serve_assisted,
        summed.cost_to_serve_self_service,
        summed.servicing_cost,
        summed.marketing_cost,
        cast(
            summed.revenue - summed.direct_cost - summed.cost_to_serve - summed.servicing_cost
            - summed.marketing_cost
            as {{ type_money() }}
        ) as profit,

        -- activity
        summed.transactions,
        summed.interactions,
        summed.assisted_interactions,
        summed.self_service_interactions,
        summed.complaints,
        summed.holdings,
        summed.products_held,
        summed.campaign_contacts,
        summed.campaign_responses,

        -- data-quality counts: events no seed gives a rate for (costed at zero)
        summed.unpriced_interactions,
        summed.unpriced_holdings,
        summed.unpriced_contacts,

        -- window
        case when summed.month_start > bounds.as_of_month then true else false end as is_future_month

    from summed
    cross join bounds

)

select * from final
