-- Deduplication loses no record: for every entity, the ODS has exactly one row per distinct natural key
-- staged from the raw layer (ids are unique within a source system only; a customers-file record is in
-- ods_customer_xref, which identity resolution maps onto fewer customers). Returns the entities whose
-- counts differ.

with

staged_keys as (

    select 'customers' as entity, count(*) as key_count
    from (select distinct source_system, customer_id from {{ ref('stg_landing__customers') }}) as keys
    union all
    select 'accounts' as entity, count(*) as key_count
    from (select distinct source_system, account_id from {{ ref('stg_landing__accounts') }}) as keys
    union all
    select 'transactions' as entity, count(*) as key_count
    from (select distinct source_system, transaction_id from {{ ref('stg_landing__transactions') }}) as keys
    union all
    select 'interactions' as entity, count(*) as key_count
    from (select distinct source_system, interaction_id from {{ ref('stg_landing__interactions') }}) as keys
    union all
    select 'campaigns' as entity, count(*) as key_count
    from (select distinct source_system, campaign_id from {{ ref('stg_landing__campaigns') }}) as keys
    union all
    select 'campaign_contacts' as entity, count(*) as key_count
    from (
        select distinct source_system, campaign_id, customer_id from {{ ref('stg_landing__campaign_contacts') }}
    ) as keys
    union all
    select 'geodemographics' as entity, count(*) as key_count
    from (select distinct source_system, postcode_key from {{ ref('stg_landing__geodemographics') }}) as keys

),

ods_rows as (

    select 'customers' as entity, count(*) as row_count
    from {{ ref('ods_customer_xref') }} as xref
    inner join {{ ref('int_customers_deduplicated') }} as customers
        on xref.source_system = customers.source_system
        and xref.source_customer_id = customers.customer_id
    union all
    select 'accounts' as entity, count(*) as row_count from {{ ref('ods_accounts') }}
    union all
    select 'transactions' as entity, count(*) as row_count from {{ ref('ods_transactions') }}
    union all
    select 'interactions' as entity, count(*) as row_count from {{ ref('ods_interactions') }}
    union all
    select 'campaigns' as entity, count(*) as row_count from {{ ref('ods_campaigns') }}
    union all
    select 'campaign_contacts' as entity, count(*) as row_count from {{ ref('ods_campaign_contacts') }}
    union all
    select 'geodemographics' as entity, count(*) as row_count from {{ ref('ods_geodemographics') }}

)

select
    staged_keys.entity,
    staged_keys.key_count,
    ods_rows.row_count

from staged_keys
inner join ods_rows
    on staged_keys.entity = ods_rows.entity
where staged_keys.key_count <> ods_rows.row_count
