with

customers as (

    select * from {{ ref('stg_landing__customers') }}

),

deduplicated as (

    {{ deduplicate('customers', ['source_system', 'customer_id'], latest_delivery_order('updated_at')) }}

)

select * from deduplicated
