with

interactions as (

    select * from {{ ref('stg_landing__interactions') }}

),

deduplicated as (

    {{ deduplicate('interactions', ['source_system', 'interaction_id'], latest_delivery_order()) }}

)

select * from deduplicated
