with

deduplicated as (

    {{ deduplicate(ref('stg_landing__campaign_contacts'), ['source_system', 'campaign_id', 'customer_id'], latest_delivery_order()) }}

)

select * from deduplicated
