with

source as (

    select * from {{ source('landing', 'geodemographics') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        {{ postcode_key('postcode') }} as postcode_key,

        -- enrichment
        {{ clean_postcode('postcode') }} as postcode,
        {{ clean_text('geo_segment') }} as geo_segment,
        cast(latitude as {{ type_double() }}) as latitude,
        cast(longitude as {{ type_double() }}) as longitude,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
