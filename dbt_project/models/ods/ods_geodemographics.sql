with

geodemographics as (

    select * from {{ ref('int_geodemographics_deduplicated') }}

),

conformed as (

    select
        -- keys
        source_system,
        postcode_key,

        -- enrichment
        postcode,
        geo_segment,
        latitude,
        longitude,

        -- lineage
        source_row_count,
        _delivery_date,
        _file,
        _line

    from geodemographics

)

select * from conformed
