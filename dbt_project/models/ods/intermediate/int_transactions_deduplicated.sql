with

deduplicated as (

    {{ deduplicate(ref('stg_landing__transactions'), ['source_system', 'transaction_id'], latest_delivery_order()) }}

)

select * from deduplicated
