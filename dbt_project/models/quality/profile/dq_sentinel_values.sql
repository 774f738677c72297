-- Placeholder values found from the data alone, with no list of known bad values: a value (or a part of
-- it) that occurs far more often than the field's own distribution predicts. One row per detected
-- sentinel: source system, field, the pattern compared (the whole value, a birth date's month and day, a
-- phone's last seven digits), how many current records hold it, how many were expected, and the reason.
-- The ODS nulls these values (int_customers_deduplicated); raw and staging keep them.
--
-- Rule (README, "Data quality"): counts of a value are taken as Poisson with mean `expected_records`;
-- on the square-root scale (variance 1/4) the excess is z = 2 (sqrt(n) - sqrt(expected)). A value is a
-- sentinel when z >= var('dq_sentinel_min_z') and n >= var('dq_sentinel_min_ratio') * expected.
-- Expected counts: birth dates from the neighbouring days (var('dq_sentinel_window_days') either side,
-- the date itself left out); a birthday (month and day) from a calendar spread evenly over the year;
-- identifiers (email, phone, national id) from the field's median count per distinct value. Whole values
-- are tested first; parts (month and day, last seven digits) only among records whose whole value is not
-- a sentinel, so 10% on 1911-11-11 does not make every 11 November birthday suspect.

with

current_records as (

    {{ deduplicate(ref('stg_landing__customers'), ['source_system', 'customer_id'], latest_delivery_order('updated_at')) }}

),

value_counts as (

    select
        source_system,
        'date_of_birth' as field_name,
        'value' as pattern,
        cast(date_of_birth as {{ dbt.type_string() }}) as sentinel_value,
        {{ dbt.datediff("cast('1900-01-01' as date)", 'date_of_birth', 'day') }} as day_number,
        count(*) as records_with_value
    from current_records
    where date_of_birth is not null
    group by 1, 2, 3, 4, 5

    union all

    select
        source_system,
        'phone' as field_name,
        'value' as pattern,
        phone as sentinel_value,
        cast(null as {{ dbt.type_int() }}) as day_number,
        count(*) as records_with_value
    from current_records
    where phone is not null
    group by 1, 2, 3, 4, 5

    union all

    select
        source_system,
        'email' as field_name,
        'value' as pattern,
        email as sentinel_value,
        cast(null as {{ dbt.type_int() }}) as day_number,
        count(*) as records_with_value
    from current_records
    where email is not null
    group by 1, 2, 3, 4, 5

    union all

    select
        source_system,
        'national_id' as field_name,
        'value' as pattern,
        {{ national_id_key('national_id') }} as sentinel_value,
        cast(null as {{ dbt.type_int() }}) as day_number,
        count(*) as records_with_value
    from current_records
    where {{ national_id_key('national_id') }} is not null
    group by 1, 2, 3, 4, 5

),

value_sentinels as (

    {{ sentinels_among('value_counts') }}

),

records_flagged_by_value as (

    select
        current_records.*,
        case when birth_dates.sentinel_value is not null then true else false end as has_sentinel_birth_date,
        case when phones.sentinel_value is not null then true else false end as has_sentinel_phone
    from current_records
    left join value_sentinels as birth_dates
        on current_records.source_system = birth_dates.source_system
        and birth_dates.field_name = 'date_of_birth'
        and birth_dates.sentinel_value = cast(current_records.date_of_birth as {{ dbt.type_string() }})
    left join value_sentinels as phones
        on current_records.source_system = phones.source_system
        and phones.field_name = 'phone'
        and phones.sentinel_value = current_records.phone

),

part_counts as (

    select
        source_system,
        'date_of_birth' as field_name,
        'month_day' as pattern,
        {{ month_day('date_of_birth') }} as sentinel_value,
        cast(null as {{ dbt.type_int() }}) as day_number,
        count(*) as records_with_value
    from records_flagged_by_value
    where date_of_birth is not null and not has_sentinel_birth_date
    group by 1, 2, 3, 4, 5

    union all

    select
        source_system,
        'phone' as field_name,
        'last_7_digits' as pattern,
        {{ phone_subscriber('phone') }} as sentinel_value,
        cast(null as {{ dbt.type_int() }}) as day_number,
        count(*) as records_with_value
    from records_flagged_by_value
    where {{ phone_subscriber('phone') }} is not null and not has_sentinel_phone
    group by 1, 2, 3, 4, 5

),

part_sentinels as (

    {{ sentinels_among('part_counts') }}

),

sentinels as (

    select * from value_sentinels
    union all
    select * from part_sentinels

)

select * from sentinels
