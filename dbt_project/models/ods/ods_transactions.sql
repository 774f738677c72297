-- Incremental (event_table_config): a build adds the transactions delivered since the last one (every raw
-- version of each, so the survivor is chosen again among all of them) and rewrites the rows whose source
-- customer identity resolution has since given another customer_key (a merge or a split); a table without
-- the _loaded_at watermark yet takes every event again. On Spark, and
-- on a first or full build, the whole table is built from int_transactions_deduplicated.
-- depends_on: {{ ref('stg_landing__transactions') }}

{{ config(**event_table_config('transaction_key', 'transactions')) }}

with

{%- if is_incremental() %}

staged as (

    select * from {{ ref('stg_landing__transactions') }}

),

delivered_since as (

    select staged.*
    from staged
    inner join (
        select distinct source_system, transaction_id
        from staged
        where {{ events_loaded_after_watermark('_loaded_at') }}
    ) as new_ids
        on staged.source_system = new_ids.source_system
        and staged.transaction_id = new_ids.transaction_id

),

transactions as (

    {{ deduplicate('delivered_since', ['source_system', 'transaction_id'], latest_delivery_order()) }}

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

{%- if is_incremental() and events_have_watermark() %}

-- Rows already here whose source customer now has another customer_key, and that no new delivery replaces.
rekeyed as (

    select
        {%- for column in ['transaction_key', 'source_system', 'transaction_id', 'customer_key', 'source_customer_id', 'account_key', 'account_id', 'occurred_at', 'occurred_date', 'product_id', 'channel_id', 'transaction_type', 'amount', 'cost', 'is_future_dated', 'is_negative_amount', 'source_row_count', '_delivery_date', '_file', '_line', '_loaded_at'] %}
        {{ 'xref.customer_key' if column == 'customer_key' else 'kept.' ~ column }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as kept
    inner join xref
        on kept.source_system = xref.source_system
        and kept.source_customer_id = xref.source_customer_id
    left join transactions as redelivered
        on kept.transaction_key = redelivered.transaction_key
    where redelivered.transaction_key is null
        and (kept.customer_key is null or kept.customer_key <> xref.customer_key)

),

{%- endif %}

final as (

    select * from conformed
    {%- if is_incremental() and events_have_watermark() %}
    union all
    select * from rekeyed
    {%- endif %}

)

select * from final
