with

campaigns as (

    select * from {{ ref('stg_landing__campaigns') }}

),

deduplicated as (

    {{ deduplicate('campaigns', ['source_system', 'campaign_id'], latest_delivery_order()) }}

)

select * from deduplicated
