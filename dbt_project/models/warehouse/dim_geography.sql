-- Geodemographic enrichment by postcode: one row per postcode_key (the key customers join on). When
-- several sources describe one postcode, the latest delivery wins, then the first source system by name.

with

ranked as (

    {{ deduplicate(ref('ods_geodemographics'), 'postcode_key', ['_delivery_date desc', 'source_system']) }}

),

final as (

    select
        postcode_key,
        postcode,
        geo_segment,
        latitude,
        longitude,
        source_system

    from ranked

)

select * from final
