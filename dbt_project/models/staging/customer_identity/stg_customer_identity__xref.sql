with

source as (

    select * from {{ source('customer_identity', 'customer_xref') }}

),

renamed as (

    select
        -- keys
        source_system,
        source_customer_id,
        customer_source_key,
        customer_key,

        -- linkage
        cast(match_probability as {{ type_double() }}) as match_probability

    from source

)

select * from renamed
