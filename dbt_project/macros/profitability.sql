{#- The customer P&L's rules, kept in one place: its window, ranking customers by profit, shares. -#}

{#- One row: first_month, the first month of event history (earliest transaction or interaction, else the
    first delivery), and as_of_month, the month of the latest delivery. Holdings are costed between them. -#}
{% macro customer_pnl_bounds() -%}
    select
        cast({{ dbt.date_trunc('month', 'coalesce(min(edges.first_date), min(edges.last_delivery_date))') }} as date)
            as first_month,
        cast({{ dbt.date_trunc('month', 'max(edges.last_delivery_date)') }} as date) as as_of_month
    from (
        select min(occurred_date) as first_date, max(_delivery_date) as last_delivery_date
        from {{ ref('ods_transactions') }}
        union all
        select min(occurred_date) as first_date, max(_delivery_date) as last_delivery_date
        from {{ ref('ods_interactions') }}
        union all
        select cast(null as date) as first_date, max(_delivery_date) as last_delivery_date
        from {{ ref('ods_accounts') }}
        union all
        select cast(null as date) as first_date, max(_delivery_date) as last_delivery_date
        from {{ ref('ods_campaign_contacts') }}
    ) as edges
{%- endmacro %}

{#- Profit deciles over the rows of the current window partition: 1 = most profitable tenth. Ties are
    broken by `tie_break` (the customer key), so every build gives each customer the same decile. Rank r of
    n goes to decile floor((r - 1) * 10 / n) + 1: the ten counts differ by at most one. -#}
{% macro profit_decile(profit, tie_break, partition_by=none) -%}
    cast(floor(
        (row_number() over (
            {% if partition_by %}partition by {{ partition_by }} {% endif -%}
            order by {{ profit }} desc, {{ tie_break }}
        ) - 1) * 10.0
        / count(*) over ({% if partition_by %}partition by {{ partition_by }}{% endif %})
    ) as {{ dbt.type_int() }}) + 1
{%- endmacro %}

{#- One row per customer with any P&L row in the `window_months` months up to and including the month
    `months_back` months before the as-of month (the month of the latest delivery): the P&L summed over
    the window, profit_rank (1 = most profitable) and profit_decile. products_held is the most distinct
    products the customer held in any one month of the window. -#}
{% macro trailing_customer_profit(months_back=0, window_months=var('profitability_window_months')) -%}
    {%- set window_months = window_months | int -%}
    select
        windowed.*,
        cast(row_number() over (order by windowed.profit desc, windowed.customer_key) as bigint) as profit_rank,
        {{ profit_decile('windowed.profit', 'windowed.customer_key') }} as profit_decile
    from (
        select
            customer_month.customer_key,
            as_of.as_of_month,
            cast(count(*) as bigint) as active_months,
            cast(sum(customer_month.revenue) as {{ type_money() }}) as revenue,
            cast(sum(customer_month.direct_cost) as {{ type_money() }}) as direct_cost,
            cast(sum(customer_month.cost_to_serve) as {{ type_money() }}) as cost_to_serve,
            cast(sum(customer_month.cost_to_serve_assisted) as {{ type_money() }}) as cost_to_serve_assisted,
            cast(sum(customer_month.cost_to_serve_self_service) as {{ type_money() }}) as cost_to_serve_self_service,
            cast(sum(customer_month.servicing_cost) as {{ type_money() }}) as servicing_cost,
            cast(sum(customer_month.marketing_cost) as {{ type_money() }}) as marketing_cost,
            cast(sum(customer_month.profit) as {{ type_money() }}) as profit,
            cast(max(customer_month.products_held) as bigint) as products_held,
            cast(sum(customer_month.transactions) as bigint) as transactions,
            cast(sum(customer_month.interactions) as bigint) as interactions,
            cast(sum(customer_month.assisted_interactions) as bigint) as assisted_interactions,
            cast(sum(customer_month.self_service_interactions) as bigint) as self_service_interactions,
            cast(sum(customer_month.campaign_contacts) as bigint) as campaign_contacts
        from {{ ref('fct_customer_month') }} as customer_month
        cross join (
            select
                cast({{ dbt.dateadd('month', -months_back, 'max(month_start)') }} as date) as as_of_month
            from {{ ref('fct_customer_month') }}
            where not is_future_month
        ) as as_of
        where customer_month.month_start <= as_of.as_of_month
            and customer_month.month_start > cast({{ dbt.dateadd('month', -window_months, 'as_of.as_of_month') }} as date)
        group by customer_month.customer_key, as_of.as_of_month
    ) as windowed
{%- endmacro %}

{#- numerator / denominator as a double, null when the denominator is zero (shares of a zero total). -#}
{% macro share(numerator, denominator) -%}
    cast(
        case when {{ denominator }} <> 0
            then cast({{ numerator }} as {{ type_double() }}) / cast({{ denominator }} as {{ type_double() }})
        end as {{ type_double() }}
    )
{%- endmacro %}
