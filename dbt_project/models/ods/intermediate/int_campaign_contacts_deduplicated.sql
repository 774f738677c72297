with

campaign_contacts as (

    select * from {{ ref('stg_landing__campaign_contacts') }}

),

deduplicated as (

    {{ deduplicate('campaign_contacts', ['source_system', 'campaign_id', 'customer_id'], latest_delivery_order()) }}

)

select * from deduplicated
