with

source as (

    select * from {{ source('landing', 'customers') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        trim(customer_id) as customer_id,
        {{ source_key('trim(source_system)', 'trim(customer_id)') }} as customer_source_key,
        {{ hash_key('trim(source_system)', 'trim(customer_id)') }} as customer_key,

        -- person
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        cast(date_of_birth as date) as date_of_birth,
        {{ standardise_gender('gender') }} as gender,
        lower({{ clean_string('email') }}) as email,
        {{ clean_phone('phone') }} as phone,
        {{ clean_string('national_id') }} as national_id,

        -- address
        {{ clean_text('address_line1') }} as address_line1,
        {{ clean_text('address_line2') }} as address_line2,
        {{ clean_text('city') }} as city,
        {{ clean_postcode('postcode') }} as postcode,
        {{ postcode_key('postcode') }} as postcode_key,
        {{ clean_text('region') }} as region,
        upper({{ clean_string('country') }}) as country,

        -- source timestamps
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        -- data-quality flags
        {{ is_valid_email('lower(' ~ clean_string('email') ~ ')') }} as is_email_valid,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
