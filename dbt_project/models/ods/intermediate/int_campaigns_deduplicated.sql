with

deduplicated as (

    {{ deduplicate(ref('stg_landing__campaigns'), ['source_system', 'campaign_id'], latest_delivery_order()) }}

)

select * from deduplicated
