-- One row per (source_system, customer_id): the surviving customers row, with the sentinel values the
-- data-quality model detected (dq_sentinel_values) blanked and flagged. Staging and raw keep them.

with

sentinels as (

    select * from {{ ref('dq_sentinel_values') }}

),

deduplicated as (

    {{ deduplicate(ref('stg_landing__customers'), ['source_system', 'customer_id'], latest_delivery_order('updated_at')) }}

),

flagged as (

    select
        deduplicated.*,
        {{ sentinel_flags() | indent(8) }},
        {%- set reason_parts = [] %}
        {%- for alias in sentinel_patterns('deduplicated') | map(attribute=0) %}
            {%- do reason_parts.append('coalesce(' ~ dbt.concat(["'; '", alias ~ '.reason']) ~ ", '')") %}
        {%- endfor %}
        nullif(substring({{ dbt.concat(reason_parts) }}, 3), '') as sentinel_reason
    from deduplicated
    {{- join_sentinels('deduplicated', 'sentinels') }}

),

cleansed as (

    select
        -- keys
        source_system,
        customer_id,
        customer_source_key,
        customer_key,

        -- person, sentinel values blanked
        first_name,
        last_name,
        case when is_sentinel_birth_date then null else date_of_birth end as date_of_birth,
        gender,
        case when is_sentinel_email then null else email end as email,
        case when is_sentinel_phone then null else phone end as phone,
        case when is_sentinel_national_id then null else national_id end as national_id,

        -- address
        address_line1,
        address_line2,
        city,
        postcode,
        postcode_key,
        region,
        country,

        -- source timestamps
        created_at,
        updated_at,

        -- data-quality flags
        is_sentinel_birth_date,
        is_sentinel_phone,
        is_sentinel_email,
        is_sentinel_national_id,
        sentinel_reason,
        is_email_valid,

        -- lineage
        _delivery_date,
        _file,
        _line,
        _loaded_at,
        survivorship_rank,
        source_row_count

    from flagged

)

select * from cleansed
