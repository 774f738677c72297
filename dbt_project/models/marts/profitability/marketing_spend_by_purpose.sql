-- Grain: one row per month and purpose of campaign spend: acquisition (contacts to people who held no
-- product that month: prospects) or retention (contacts to customers holding at least one product).
-- Contacts made, responses, spend, response rate and cost per response; controls cost nothing and are
-- left out.

with

customer_months as (

    select * from {{ ref('fct_customer_month') }}
    where campaign_contacts > 0

),

by_purpose as (

    select
        month_start,
        case when products_held > 0 then 'retention' else 'acquisition' end as purpose,
        count(*) as customers_contacted,
        sum(campaign_contacts) as campaign_contacts,
        sum(campaign_responses) as campaign_responses,
        sum(marketing_cost) as marketing_cost

    from customer_months
    group by month_start, case when products_held > 0 then 'retention' else 'acquisition' end

),

final as (

    select
        month_start,
        purpose,
        cast(customers_contacted as bigint) as customers_contacted,
        cast(campaign_contacts as bigint) as campaign_contacts,
        cast(campaign_responses as bigint) as campaign_responses,
        cast(marketing_cost as {{ type_money() }}) as marketing_cost,
        cast(
            cast(campaign_responses as {{ type_double() }}) / campaign_contacts as {{ type_double() }}
        ) as response_rate,
        cast(
            case when campaign_responses > 0 then marketing_cost / campaign_responses end as {{ type_money() }}
        ) as cost_per_response

    from by_purpose

)

select * from final
