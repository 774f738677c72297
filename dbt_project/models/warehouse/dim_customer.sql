-- One row per version of a customer (SCD2, from customers_snapshot). customer_key is the durable
-- customer; customer_sk identifies one version. Current versions have valid_to 9999-12-31.

with

snapshot as (

    select * from {{ ref('customers_snapshot') }}

),

versions as (

    select
        -- keys
        dbt_scd_id as customer_sk,
        customer_key,
        source_system,
        source_customer_id,

        -- person
        first_name,
        last_name,
        date_of_birth,
        gender,
        email,
        phone,
        national_id,

        -- address
        address_line1,
        address_line2,
        city,
        postcode,
        postcode_key,
        region,
        country,

        -- data-quality flags
        has_sentinel_birth_date,
        has_invalid_email,
        is_id_only,

        -- validity
        cast(dbt_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
        cast(
            coalesce(dbt_valid_to, cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }}))
            as {{ dbt.type_timestamp() }}
        ) as valid_to,
        case when dbt_valid_to is null then true else false end as is_current

    from snapshot

)

select * from versions
