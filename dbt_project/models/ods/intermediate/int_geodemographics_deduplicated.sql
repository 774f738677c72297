with

deduplicated as (

    {{ deduplicate(ref('stg_landing__geodemographics'), ['source_system', 'postcode_key'], latest_delivery_order()) }}

)

select * from deduplicated
