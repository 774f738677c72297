-- Conformed current state of every customer: one row per customer_key. Attributes come from the
-- surviving customers-file record; a customer known only from events is an id-only row with empty
-- attributes. Placeholder birth dates and invalid emails are blanked and flagged, never dropped.

with

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

customer_ids as (

    select * from {{ ref('int_customer_ids_unioned') }}

),

customers as (

    select * from {{ ref('int_customers_deduplicated') }}

),

conformed as (

    select
        -- keys
        xref.customer_key,
        xref.source_system,
        xref.source_customer_id,
        xref.customer_source_key,

        -- person
        customers.first_name,
        customers.last_name,
        case when customers.is_sentinel_birth_date then null else customers.date_of_birth end as date_of_birth,
        coalesce(customers.gender, 'U') as gender,
        case when customers.is_email_valid then customers.email end as email,
        customers.phone,
        customers.national_id,

        -- address
        customers.address_line1,
        customers.address_line2,
        customers.city,
        customers.postcode,
        customers.postcode_key,
        customers.region,
        customers.country,

        -- source timestamps
        customers.created_at,
        customers.updated_at,

        -- data-quality flags
        coalesce(customers.is_sentinel_birth_date, false) as has_sentinel_birth_date,
        case
            when customers.email is not null and not customers.is_email_valid then true
            else false
        end as has_invalid_email,
        customer_ids.is_id_only,

        -- lineage
        customer_ids.first_seen_delivery_date,
        customers._delivery_date,
        customers._file,
        customers._line

    from xref
    inner join customer_ids
        on xref.source_system = customer_ids.source_system
        and xref.source_customer_id = customer_ids.customer_id
    left join customers
        on xref.source_system = customers.source_system
        and xref.source_customer_id = customers.customer_id

)

select * from conformed
