with

geodemographics as (

    select * from {{ ref('stg_landing__geodemographics') }}

),

deduplicated as (

    {{ deduplicate('geodemographics', ['source_system', 'postcode_key'], latest_delivery_order()) }}

)

select * from deduplicated
