-- Grain: one row per customer, month and channel the customer was served through. Cost to serve is
-- time-driven activity-based costing: each interaction costs the standard minutes of its type
-- (seeds/interaction_types.csv) times the cost per minute of its channel (seeds/channels.csv), rounded to
-- cents. An interaction whose type or channel has no rate costs nothing and is counted as unpriced.

with

interactions as (

    select * from {{ ref('fct_interactions') }}

),

interaction_types as (

    select * from {{ ref('interaction_types') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

costed as (

    select
        interactions.customer_key,
        cast({{ dbt.date_trunc('month', 'interactions.occurred_date') }} as date) as month_start,
        interactions.channel_id,
        channels.is_assisted,
        case when interactions.is_complaint then 1 else 0 end as is_complaint,
        cast(interaction_types.standard_minutes as decimal(18,4)) as standard_minutes,
        cast(
            round(
                cast(interaction_types.standard_minutes as decimal(18,4)) * channels.cost_per_minute, 2
            ) as {{ type_money() }}
        ) as cost_to_serve

    from interactions
    left join interaction_types
        on interactions.interaction_type = lower(trim(interaction_types.interaction_type))
    left join channels
        on interactions.channel_id = channels.channel_id

),

final as (

    select
        -- keys
        customer_key,
        month_start,
        channel_id,
        is_assisted,

        -- measures
        cast(count(*) as bigint) as interactions,
        cast(sum(case when cost_to_serve is null then 1 else 0 end) as bigint) as unpriced_interactions,
        cast(sum(is_complaint) as bigint) as complaints,
        -- summed as decimals: the same total in any order, so rebuilds publish identical tables
        cast(coalesce(sum(standard_minutes), 0) as {{ type_double() }}) as standard_minutes,
        cast(coalesce(sum(cost_to_serve), 0) as {{ type_money() }}) as cost_to_serve

    from costed
    group by customer_key, month_start, channel_id, is_assisted

)

select * from final
