-- Every (source_system, customer_id) the sources mention: in a customers file, or only as the customer
-- of an account, transaction, interaction or campaign contact. A customer seen only in events is still a
-- customer (an id-only customer), so no event is orphaned.

with

customers as (

    select * from {{ ref('int_customers_deduplicated') }}

),

accounts as (

    select * from {{ ref('int_accounts_deduplicated') }}

),

transactions as (

    select * from {{ ref('int_transactions_deduplicated') }}

),

interactions as (

    select * from {{ ref('int_interactions_deduplicated') }}

),

campaign_contacts as (

    select * from {{ ref('int_campaign_contacts_deduplicated') }}

),

mentions as (

    select source_system, customer_id, 1 as is_customer_record, _delivery_date from customers
    union all
    select source_system, customer_id, 0 as is_customer_record, _delivery_date from accounts
    union all
    select source_system, customer_id, 0 as is_customer_record, _delivery_date from transactions
    union all
    select source_system, customer_id, 0 as is_customer_record, _delivery_date from interactions
    union all
    select source_system, customer_id, 0 as is_customer_record, _delivery_date from campaign_contacts

),

unioned as (

    select
        source_system,
        customer_id,
        {{ source_key('source_system', 'customer_id') }} as customer_source_key,
        case when max(is_customer_record) = 1 then false else true end as is_id_only,
        min(_delivery_date) as first_seen_delivery_date

    from mentions
    group by source_system, customer_id

)

select * from unioned
