-- Grain: one row per source service contact (source_system, interaction_id). A missing duration takes
-- the interaction type's standard minutes from seeds/interaction_types.csv (is_duration_imputed).

with

interactions as (

    select * from {{ ref('ods_interactions') }}

),

interaction_types as (

    select * from {{ ref('interaction_types') }}

),

final as (

    select
        -- keys
        interactions.interaction_key,
        interactions.source_system,
        interactions.interaction_id,
        interactions.customer_key,
        interactions.channel_id,
        interactions.interaction_type,

        -- when
        interactions.occurred_at,
        interactions.occurred_date,

        -- measures
        cast(
            coalesce(interactions.duration_minutes, interaction_types.standard_minutes)
            as {{ type_double() }}
        ) as duration_minutes,
        case
            when interactions.duration_minutes is null and interaction_types.standard_minutes is not null
                then true
            else false
        end as is_duration_imputed,
        interactions.satisfaction_score,
        interactions.is_complaint,

        -- data-quality flags
        interactions.is_future_dated,

        -- lineage
        interactions._file,
        interactions._line

    from interactions
    left join interaction_types
        on interactions.interaction_type = lower(trim(interaction_types.interaction_type))

)

select * from final
