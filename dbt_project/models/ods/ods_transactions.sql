-- Incremental (event_table_config): a build adds the transactions delivered since the last one (every raw
-- version of each, so the survivor is chosen again among all of them) and rewrites the rows whose source
-- customer identity resolution has since given another customer_key (a merge or a split); a table without
-- the _loaded_at watermark yet takes every event again. On Spark, and
-- on a first or full build, the whole table is built from int_transactions_deduplicated.
-- depends_on: {{ ref('stg_landing__transactions') }}

{{ config(**event_table_config('transaction_key', 'transactions')) }}

with

{%- if is_incremental() %}

transactions as (

    {{ events_delivered_since(ref('stg_landing__transactions'), 'transaction_id') }}

),

{%- else %}

transactions as (

    select * from {{ ref('int_transactions_deduplicated') }}

),

{%- endif %}

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
        transactions._line,
        transactions._loaded_at

    from transactions
    left join xref
        on transactions.source_system = xref.source_system
        and transactions.customer_id = xref.source_customer_id

),

final as (

    {{ events_with_rekeyed('conformed', 'transactions', 'xref', 'transaction_key') }}

)

select * from final
