-- No event is orphaned: every customer id an event names in the raw layer is in ods_customer_xref, and
-- every fact row's customer_key has a current version in dim_customer (id-only customers included).
-- Returns the orphaned events.

with

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

current_customers as (

    select customer_key from {{ ref('dim_customer') }} where is_current

),

raw_event_customers as (

    select distinct 'accounts' as entity, trim(source_system) as source_system, trim(customer_id) as customer_id
    from {{ source('landing', 'accounts') }}
    union all
    select distinct 'transactions' as entity, trim(source_system) as source_system, trim(customer_id) as customer_id
    from {{ source('landing', 'transactions') }}
    union all
    select distinct 'interactions' as entity, trim(source_system) as source_system, trim(customer_id) as customer_id
    from {{ source('landing', 'interactions') }}
    union all
    select distinct 'campaign_contacts' as entity, trim(source_system) as source_system, trim(customer_id) as customer_id
    from {{ source('landing', 'campaign_contacts') }}

),

fact_customers as (

    select 'fct_holdings' as entity, account_key as event_key, customer_key from {{ ref('fct_holdings') }}
    union all
    select 'fct_transactions' as entity, transaction_key as event_key, customer_key from {{ ref('fct_transactions') }}
    union all
    select 'fct_interactions' as entity, interaction_key as event_key, customer_key from {{ ref('fct_interactions') }}
    union all
    select 'fct_campaign_contacts' as entity, campaign_contact_key as event_key, customer_key
    from {{ ref('fct_campaign_contacts') }}

),

orphaned_in_ods as (

    select
        raw_event_customers.entity,
        {{ source_key('raw_event_customers.source_system', 'raw_event_customers.customer_id') }} as event_key,
        cast(null as {{ dbt.type_string() }}) as customer_key

    from raw_event_customers
    left join xref
        on raw_event_customers.source_system = xref.source_system
        and raw_event_customers.customer_id = xref.source_customer_id
    where xref.customer_key is null

),

orphaned_in_warehouse as (

    select
        fact_customers.entity,
        fact_customers.event_key,
        fact_customers.customer_key

    from fact_customers
    left join current_customers
        on fact_customers.customer_key = current_customers.customer_key
    where current_customers.customer_key is null

)

select * from orphaned_in_ods
union all
select * from orphaned_in_warehouse
