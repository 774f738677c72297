with

source as (

    select * from {{ source('landing', 'load_log') }}

),

renamed as (

    select
        trim(source_system) as source_system,
        entity,
        _file,
        _delivery_date,
        rows_in_file,
        rows_loaded,
        rows_quarantined,
        dq_issues as dq_issue_count,
        _loaded_at

    from source
    where is_current

)

select * from renamed
