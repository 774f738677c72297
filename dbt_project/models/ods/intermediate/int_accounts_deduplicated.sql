with

accounts as (

    select * from {{ ref('stg_landing__accounts') }}

),

deduplicated as (

    {{ deduplicate('accounts', ['source_system', 'account_id'], latest_delivery_order()) }}

)

select * from deduplicated
