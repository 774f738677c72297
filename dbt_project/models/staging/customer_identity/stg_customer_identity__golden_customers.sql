with

source as (

    select * from {{ source('customer_identity', 'golden_customers') }}

),

renamed as (

    select
        -- keys
        customer_key,
        source_system,
        source_customer_id,
        customer_source_key,

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
        region,
        country,

        -- the record each attribute group survived from
        name_source,
        date_of_birth_source,
        gender_source,
        email_source,
        phone_source,
        national_id_source,
        address_source,

        -- linkage
        record_count,
        source_system_count,

        -- source timestamps
        created_at,
        updated_at,

        -- data-quality flags
        has_sentinel_birth_date,
        has_invalid_email

    from source

)

select * from renamed
