with

source as (

    select * from {{ source('landing', 'campaigns') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        trim(campaign_id) as campaign_id,
        {{ hash_key('trim(source_system)', 'trim(campaign_id)') }} as campaign_key,

        -- campaign
        {{ clean_text('name') }} as campaign_name,
        {{ clean_code('channel') }} as channel_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(cost_per_contact as {{ type_money() }}) as cost_per_contact,
        {{ clean_text('offer') }} as offer,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
