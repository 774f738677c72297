with

transactions as (

    select * from {{ ref('stg_landing__transactions') }}

),

deduplicated as (

    {{ deduplicate('transactions', ['source_system', 'transaction_id'], latest_delivery_order()) }}

)

select * from deduplicated
