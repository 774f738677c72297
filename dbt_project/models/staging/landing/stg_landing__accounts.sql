with

source as (

    select * from {{ source('landing', 'accounts') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        trim(account_id) as account_id,
        {{ hash_key('trim(source_system)', 'trim(account_id)') }} as account_key,
        trim(customer_id) as customer_id,

        -- holding
        upper({{ clean_string('product_id') }}) as product_id,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        {{ clean_code('status') }} as status,
        cast(balance as {{ type_money() }}) as balance,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
