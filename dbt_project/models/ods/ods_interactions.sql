with

interactions as (

    select * from {{ ref('int_interactions_deduplicated') }}

),

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

conformed as (

    select
        -- keys
        interactions.interaction_key,
        interactions.source_system,
        interactions.interaction_id,
        xref.customer_key,
        interactions.customer_id as source_customer_id,

        -- contact
        interactions.occurred_at,
        interactions.occurred_date,
        interactions.channel_id,
        interactions.interaction_type,
        interactions.duration_minutes,
        interactions.satisfaction_score,
        interactions.is_complaint,

        -- data-quality flags
        interactions.is_future_dated,

        -- lineage
        interactions.source_row_count,
        interactions._delivery_date,
        interactions._file,
        interactions._line

    from interactions
    left join xref
        on interactions.source_system = xref.source_system
        and interactions.customer_id = xref.source_customer_id

)

select * from conformed
