with

source as (

    select * from {{ source('landing', 'dq_issues') }}

),

renamed as (

    select
        trim(source_system) as source_system,
        entity,
        column_name as field_name,
        value as delivered_value,
        issue,
        case when issue like 'unparsable%' then true else false end as is_unparsable_value,
        _delivery_date,
        _file,
        _line,
        _loaded_at

    from source

)

select * from renamed
