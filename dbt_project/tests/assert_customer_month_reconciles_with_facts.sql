-- The customer P&L reconciles exactly with the facts it is built from: over all customers and months,
-- fct_customer_month (and fct_customer_month_channel) hold the same revenue, direct cost, transactions,
-- interactions, complaints, cost to serve, servicing cost, marketing cost and contacts as the facts.
-- Computed another way on purpose: interactions are priced per (type, channel) after counting them,
-- holding-months are counted with datediff instead of a month spine. Returns each measure that differs.

with

bounds as (

    {{ customer_pnl_bounds() }}

),

interaction_counts as (

    select
        interaction_type,
        channel_id,
        count(*) as interactions,
        sum(case when is_complaint then 1 else 0 end) as complaints

    from {{ ref('fct_interactions') }}
    group by interaction_type, channel_id

),

interaction_totals as (

    select
        sum(interaction_counts.interactions) as interactions,
        sum(interaction_counts.complaints) as complaints,
        coalesce(sum(
            interaction_counts.interactions
            * round(cast(types.standard_minutes as decimal(18,4)) * channels.cost_per_minute, 2)
        ), 0) as cost_to_serve

    from interaction_counts
    left join {{ ref('interaction_types') }} as types
        on interaction_counts.interaction_type = lower(trim(types.interaction_type))
    left join {{ ref('channels') }} as channels
        on interaction_counts.channel_id = lower(trim(channels.channel_id))

),

holding_spans as (

    select
        products.monthly_servicing_cost,
        case
            when {{ dbt.date_trunc('month', 'holdings.opened_date') }} > bounds.first_month
                then cast({{ dbt.date_trunc('month', 'holdings.opened_date') }} as date)
            else bounds.first_month
        end as from_month,
        case
            when holdings.closed_date is null then bounds.as_of_month
            when holdings.closed_date <= holdings.opened_date
                then cast({{ dbt.date_trunc('month', 'holdings.opened_date') }} as date)
            when {{ dbt.date_trunc('month', dbt.dateadd('day', -1, 'holdings.closed_date')) }} < bounds.as_of_month
                then cast({{ dbt.date_trunc('month', dbt.dateadd('day', -1, 'holdings.closed_date')) }} as date)
            else bounds.as_of_month
        end as to_month

    from {{ ref('fct_holdings') }} as holdings
    cross join bounds
    left join {{ ref('products') }} as products
        on holdings.product_id = upper(trim(products.product_id))

),

holding_totals as (

    select
        coalesce(sum(
            ({{ dbt.datediff('from_month', 'to_month', 'month') }} + 1) * coalesce(monthly_servicing_cost, 0)
        ), 0) as servicing_cost,
        coalesce(sum({{ dbt.datediff('from_month', 'to_month', 'month') }} + 1), 0) as holding_months

    from holding_spans
    where to_month >= from_month

),

contact_totals as (

    select
        coalesce(sum(
            case when contacts.is_control then 0
                else coalesce(campaigns.cost_per_contact, channels.cost_per_contact, 0) end
        ), 0) as marketing_cost,
        sum(case when contacts.is_control then 0 else 1 end) as campaign_contacts

    from {{ ref('fct_campaign_contacts') }} as contacts
    left join {{ ref('dim_campaign') }} as campaigns
        on contacts.campaign_key = campaigns.campaign_key
    left join {{ ref('channels') }} as channels
        on campaigns.channel_id = lower(trim(channels.channel_id))

),

transaction_totals as (

    select
        coalesce(sum(amount), 0) as revenue,
        coalesce(sum(cost), 0) as direct_cost,
        count(*) as transactions

    from {{ ref('fct_transactions') }}

),

expected as (

    select 'revenue' as measure, cast(revenue as decimal(38,2)) as expected_value from transaction_totals
    union all
    select 'direct_cost', cast(direct_cost as decimal(38,2)) from transaction_totals
    union all
    select 'transactions', cast(transactions as decimal(38,2)) from transaction_totals
    union all
    select 'interactions', cast(interactions as decimal(38,2)) from interaction_totals
    union all
    select 'complaints', cast(complaints as decimal(38,2)) from interaction_totals
    union all
    select 'cost_to_serve', cast(cost_to_serve as decimal(38,2)) from interaction_totals
    union all
    select 'channel_interactions', cast(interactions as decimal(38,2)) from interaction_totals
    union all
    select 'channel_cost_to_serve', cast(cost_to_serve as decimal(38,2)) from interaction_totals
    union all
    select 'servicing_cost', cast(servicing_cost as decimal(38,2)) from holding_totals
    union all
    select 'holdings', cast(holding_months as decimal(38,2)) from holding_totals
    union all
    select 'marketing_cost', cast(marketing_cost as decimal(38,2)) from contact_totals
    union all
    select 'campaign_contacts', cast(campaign_contacts as decimal(38,2)) from contact_totals
    union all
    select
        'profit',
        cast(
            transaction_totals.revenue - transaction_totals.direct_cost - interaction_totals.cost_to_serve
            - holding_totals.servicing_cost - contact_totals.marketing_cost
            as decimal(38,2)
        )
    from transaction_totals
    cross join interaction_totals
    cross join holding_totals
    cross join contact_totals

),

customer_month_totals as (

    select
        coalesce(sum(revenue), 0) as revenue,
        coalesce(sum(direct_cost), 0) as direct_cost,
        coalesce(sum(transactions), 0) as transactions,
        coalesce(sum(interactions), 0) as interactions,
        coalesce(sum(complaints), 0) as complaints,
        coalesce(sum(cost_to_serve), 0) as cost_to_serve,
        coalesce(sum(servicing_cost), 0) as servicing_cost,
        coalesce(sum(holdings), 0) as holdings,
        coalesce(sum(marketing_cost), 0) as marketing_cost,
        coalesce(sum(campaign_contacts), 0) as campaign_contacts,
        coalesce(sum(profit), 0) as profit

    from {{ ref('fct_customer_month') }}

),

channel_totals as (

    select
        coalesce(sum(interactions), 0) as interactions,
        coalesce(sum(cost_to_serve), 0) as cost_to_serve

    from {{ ref('fct_customer_month_channel') }}

),

actual as (

    select 'revenue' as measure, cast(revenue as decimal(38,2)) as actual_value from customer_month_totals
    union all
    select 'direct_cost', cast(direct_cost as decimal(38,2)) from customer_month_totals
    union all
    select 'transactions', cast(transactions as decimal(38,2)) from customer_month_totals
    union all
    select 'interactions', cast(interactions as decimal(38,2)) from customer_month_totals
    union all
    select 'complaints', cast(complaints as decimal(38,2)) from customer_month_totals
    union all
    select 'cost_to_serve', cast(cost_to_serve as decimal(38,2)) from customer_month_totals
    union all
    select 'channel_interactions', cast(interactions as decimal(38,2)) from channel_totals
    union all
    select 'channel_cost_to_serve', cast(cost_to_serve as decimal(38,2)) from channel_totals
    union all
    select 'servicing_cost', cast(servicing_cost as decimal(38,2)) from customer_month_totals
    union all
    select 'holdings', cast(holdings as decimal(38,2)) from customer_month_totals
    union all
    select 'marketing_cost', cast(marketing_cost as decimal(38,2)) from customer_month_totals
    union all
    select 'campaign_contacts', cast(campaign_contacts as decimal(38,2)) from customer_month_totals
    union all
    select 'profit', cast(profit as decimal(38,2)) from customer_month_totals

)

select
    expected.measure,
    expected.expected_value,
    actual.actual_value

from expected
inner join actual
    on expected.measure = actual.measure
where expected.expected_value <> actual.actual_value
