-- Revenue reconciles from raw to the warehouse: the sum of amount over the distinct transactions in the
-- raw layer (each (source_system, transaction_id) once, as delivered last: latest delivery day, then last
-- line) equals the sum of amount in fct_transactions. Written with aggregates rather than the window
-- the models use, so it checks them rather than repeating them. Returns a row when they differ.

with

raw_transactions as (

    select
        trim(source_system) as source_system,
        trim(transaction_id) as transaction_id,
        amount,
        _delivery_date,
        _line

    from {{ source('landing', 'transactions') }}

),

latest_delivery as (

    select
        source_system,
        transaction_id,
        max(_delivery_date) as _delivery_date

    from raw_transactions
    group by source_system, transaction_id

),

latest_line as (

    select
        raw_transactions.source_system,
        raw_transactions.transaction_id,
        raw_transactions._delivery_date,
        max(raw_transactions._line) as _line

    from raw_transactions
    inner join latest_delivery
        on raw_transactions.source_system = latest_delivery.source_system
        and raw_transactions.transaction_id = latest_delivery.transaction_id
        and raw_transactions._delivery_date = latest_delivery._delivery_date
    group by
        raw_transactions.source_system,
        raw_transactions.transaction_id,
        raw_transactions._delivery_date

),

raw_revenue as (

    select
        count(*) as transaction_count,
        coalesce(sum(raw_transactions.amount), 0) as revenue

    from raw_transactions
    inner join latest_line
        on raw_transactions.source_system = latest_line.source_system
        and raw_transactions.transaction_id = latest_line.transaction_id
        and raw_transactions._delivery_date = latest_line._delivery_date
        and raw_transactions._line = latest_line._line

),

warehouse_revenue as (

    select
        count(*) as transaction_count,
        coalesce(sum(amount), 0) as revenue

    from {{ ref('fct_transactions') }}

)

select
    raw_revenue.transaction_count as raw_transaction_count,
    warehouse_revenue.transaction_count as warehouse_transaction_count,
    raw_revenue.revenue as raw_revenue,
    warehouse_revenue.revenue as warehouse_revenue

from raw_revenue
cross join warehouse_revenue
where raw_revenue.revenue <> warehouse_revenue.revenue
    or raw_revenue.transaction_count <> warehouse_revenue.transaction_count
