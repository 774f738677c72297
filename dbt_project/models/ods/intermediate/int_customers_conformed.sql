-- Every source customer record, conformed, before identity resolution: one row per (source_system,
-- customer_id) a source mentions. Attributes come from the record's surviving customers-file row; a
-- customer known only from events is an id-only row with empty attributes. Placeholder birth dates and
-- invalid emails are blanked and flagged, never dropped. Identity resolution (models_ml/identity) reads
-- this view and links its rows into customers.

with

customer_ids as (

    select * from {{ ref('int_customer_ids_unioned') }}

),

customers as (

    select * from {{ ref('int_customers_deduplicated') }}

),

conformed as (

    select
        -- keys
        customer_ids.source_system,
        customer_ids.customer_id,

        -- person
        customers.first_name,
        customers.last_name,
        case when customers.is_sentinel_birth_date then null else customers.date_of_birth end as date_of_birth,
        customers.gender,
        case when customers.is_email_valid then customers.email end as email,
        customers.phone,
        customers.national_id,

        -- address
        customers.address_line1,
        customers.address_line2,
        customers.city,
        customers.postcode,
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

    from customer_ids
    left join customers
        on customer_ids.source_system = customers.source_system
        and customer_ids.customer_id = customers.customer_id

)

select * from conformed
