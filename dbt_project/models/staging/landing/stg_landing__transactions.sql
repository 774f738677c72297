with

source as (

    select * from {{ source('landing', 'transactions') }}

),

renamed as (

    select
        -- keys
        trim(source_system) as source_system,
        trim(transaction_id) as transaction_id,
        {{ hash_key('trim(source_system)', 'trim(transaction_id)') }} as transaction_key,
        trim(customer_id) as customer_id,
        {{ clean_string('account_id') }} as account_id,
        case
            when {{ clean_string('account_id') }} is not null
                then {{ hash_key('trim(source_system)', 'trim(account_id)') }}
        end as account_key,

        -- event
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(occurred_at as date) as occurred_date,
        upper({{ clean_string('product_id') }}) as product_id,
        {{ clean_code('channel') }} as channel_id,
        {{ clean_code('transaction_type') }} as transaction_type,

        -- money
        cast(amount as {{ type_money() }}) as amount,
        cast(cost as {{ type_money() }}) as cost,

        -- data-quality flags
        case when cast(occurred_at as date) > _delivery_date then true else false end as is_future_dated,
        case when amount < 0 then true else false end as is_negative_amount,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
