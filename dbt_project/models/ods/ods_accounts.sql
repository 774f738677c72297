with

accounts as (

    select * from {{ ref('int_accounts_deduplicated') }}

),

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

conformed as (

    select
        -- keys
        accounts.account_key,
        accounts.source_system,
        accounts.account_id,
        xref.customer_key,
        accounts.customer_id as source_customer_id,

        -- holding
        accounts.product_id,
        accounts.opened_at,
        accounts.closed_at,
        accounts.status,
        accounts.balance,

        -- lineage
        accounts.source_row_count,
        accounts._delivery_date,
        accounts._file,
        accounts._line

    from accounts
    left join xref
        on accounts.source_system = xref.source_system
        and accounts.customer_id = xref.source_customer_id

)

select * from conformed
