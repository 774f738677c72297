with

source as (

    select * from {{ source('landing', 'campaign_contacts') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        trim(campaign_id) as campaign_id,
        trim(customer_id) as customer_id,
        {{ hash_key('trim(source_system)', ['trim(campaign_id)', 'trim(customer_id)']) }} as campaign_contact_key,
        {{ hash_key('trim(source_system)', 'trim(campaign_id)') }} as campaign_key,

        -- contact
        cast(contacted_at as {{ dbt.type_timestamp() }}) as contacted_at,
        cast(contacted_at as date) as contacted_date,
        coalesce(is_control, false) as is_control,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        case when responded_at is not null then true else false end as has_responded,
        cast(response_value as {{ type_money() }}) as response_value,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
