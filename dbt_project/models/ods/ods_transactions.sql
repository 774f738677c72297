with

transactions as (

    select * from {{ ref('int_transactions_deduplicated') }}

),

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

conformed as (

    select
        -- keys
        transactions.transaction_key,
        transactions.source_system,
        transactions.transaction_id,
        xref.customer_key,
        transactions.customer_id as source_customer_id,
        transactions.account_key,
        transactions.account_id,

        -- event
        transactions.occurred_at,
        transactions.occurred_date,
        transactions.product_id,
        transactions.channel_id,
        transactions.transaction_type,

        -- money
        transactions.amount,
        transactions.cost,

        -- data-quality flags
        transactions.is_future_dated,
        transactions.is_negative_amount,

        -- lineage
        transactions.source_row_count,
        transactions._delivery_date,
        transactions._file,
        transactions._line

    from transactions
    left join xref
        on transactions.source_system = xref.source_system
        and transactions.customer_id = xref.source_customer_id

)

select * from conformed
