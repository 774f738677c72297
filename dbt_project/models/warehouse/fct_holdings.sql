-- Grain: one row per product holding (source_system, account_id) in its current state.

with

accounts as (

    select * from {{ ref('ods_accounts') }}

),

final as (

    select
        -- keys
        account_key,
        source_system,
        account_id,
        customer_key,
        product_id,

        -- lifecycle
        opened_at,
        cast(opened_at as date) as opened_date,
        closed_at,
        cast(closed_at as date) as closed_date,
        status,
        case
            when closed_at is null and coalesce(status, 'open') <> 'closed' then true
            else false
        end as is_open,

        -- measures
        balance,

        -- lineage
        _file,
        _line

    from accounts

)

select * from final
