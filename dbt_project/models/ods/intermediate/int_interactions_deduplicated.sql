with

deduplicated as (

    {{ deduplicate(ref('stg_landing__interactions'), ['source_system', 'interaction_id'], latest_delivery_order()) }}

)

select * from deduplicated
