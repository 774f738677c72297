-- Conformed current state of every customer: one row per customer_key, the golden record identity
-- resolution built by survivorship over the customer's linked source records (each attribute group from
-- one record, by the rules of the [identity] settings). The primary record (source_system,
-- source_customer_id) is the customer's first record. A customer known only from events is an id-only
-- row with empty attributes. Placeholder birth dates and invalid emails never survive; the flags say a
-- customer has no birth date (email) because its records held only a placeholder (an invalid one).

with

golden as (

    select * from {{ ref('stg_customer_identity__golden_customers') }}

),

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

records as (

    select * from {{ ref('int_customers_conformed') }}

),

members as (

    select
        xref.customer_key,
        {{ dbt.bool_or('not records.is_id_only') }} as has_customer_record,
        min(records.first_seen_delivery_date) as first_seen_delivery_date

    from xref
    inner join records
        on xref.source_system = records.source_system
        and xref.source_customer_id = records.customer_id
    group by xref.customer_key

),

conformed as (

    select
        -- keys
        golden.customer_key,
        golden.source_system,
        golden.source_customer_id,
        golden.customer_source_key,

        -- person
        golden.first_name,
        golden.last_name,
        golden.date_of_birth,
        coalesce(golden.gender, 'U') as gender,
        golden.email,
        golden.phone,
        golden.national_id,

        -- address
        golden.address_line1,
        golden.address_line2,
        golden.city,
        golden.postcode,
        {{ postcode_key('golden.postcode') }} as postcode_key,
        golden.region,
        golden.country,

        -- linkage
        golden.record_count,
        golden.source_system_count,

        -- source timestamps
        golden.created_at,
        golden.updated_at,

        -- data-quality flags
        -- set when the customer has no value because its records held only a placeholder / invalid one
        case
            when golden.date_of_birth is null and golden.has_sentinel_birth_date then true else false
        end as has_sentinel_birth_date,
        case when golden.email is null and golden.has_invalid_email then true else false end as has_invalid_email,
        case when members.has_customer_record then false else true end as is_id_only,

        -- lineage: the primary record
        members.first_seen_delivery_date,
        primary_record._delivery_date,
        primary_record._file,
        primary_record._line

    from golden
    inner join members
        on golden.customer_key = members.customer_key
    left join records as primary_record
        on golden.source_system = primary_record.source_system
        and golden.source_customer_id = primary_record.customer_id

)

select * from conformed
