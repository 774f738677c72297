-- Grain: one row per source transaction (source_system, transaction_id), deduplicated. A transaction
-- without a product code takes its account's product.

with

transactions as (

    select * from {{ ref('ods_transactions') }}

),

accounts as (

    select * from {{ ref('ods_accounts') }}

),

final as (

    select
        -- keys
        transactions.transaction_key,
        transactions.source_system,
        transactions.transaction_id,
        transactions.customer_key,
        transactions.account_key,
        transactions.account_id,
        coalesce(transactions.product_id, accounts.product_id) as product_id,
        transactions.channel_id,
        transactions.transaction_type,

        -- when
        transactions.occurred_at,
        transactions.occurred_date,

        -- money
        transactions.amount,
        transactions.cost,

        -- data-quality flags
        transactions.is_future_dated,
        transactions.is_negative_amount,

        -- lineage
        transactions._file,
        transactions._line

    from transactions
    left join accounts
        on transactions.account_key = accounts.account_key

)

select * from final
