with

deduplicated as (

    {{ deduplicate(ref('stg_landing__accounts'), ['source_system', 'account_id'], latest_delivery_order()) }}

)

select * from deduplicated
