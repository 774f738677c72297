with

source as (

    select * from {{ source('landing', 'interactions') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        trim(interaction_id) as interaction_id,
        {{ hash_key('trim(source_system)', 'trim(interaction_id)') }} as interaction_key,
        trim(customer_id) as customer_id,

        -- contact
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(occurred_at as date) as occurred_date,
        {{ clean_code('channel') }} as channel_id,
        {{ clean_code('interaction_type') }} as interaction_type,
        cast(duration_minutes as {{ type_double() }}) as duration_minutes,
        cast(satisfaction_score as {{ dbt.type_int() }}) as satisfaction_score,
        coalesce(is_complaint, false) as is_complaint,

        -- data-quality flags
        case when cast(occurred_at as date) > _delivery_date then true else false end as is_future_dated,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
