-- SCD2 integrity of dim_customer: every ODS customer has exactly one current version, and each
-- customer's versions follow one another without gaps or overlaps (a version ends when the next begins).

with

dim_customer as (

    select * from {{ ref('dim_customer') }}

),

ods_customers as (

    select * from {{ ref('ods_customers') }}

),

current_versions as (

    select
        customer_key,
        sum(case when is_current then 1 else 0 end) as current_version_count

    from dim_customer
    group by customer_key

),

wrong_current_count as (

    select
        ods_customers.customer_key,
        {{ dbt.concat([
            "'current versions: '",
            "cast(coalesce(current_versions.current_version_count, 0) as " ~ dbt.type_string() ~ ")",
        ]) }} as problem

    from ods_customers
    left join current_versions
        on ods_customers.customer_key = current_versions.customer_key
    where coalesce(current_versions.current_version_count, 0) <> 1

),

ordered_versions as (

    select
        customer_key,
        valid_to,
        lead(valid_from) over (partition by customer_key order by valid_from) as next_valid_from

    from dim_customer

),

not_contiguous as (

    select
        customer_key,
        {{ dbt.concat([
            "'version ends at '",
            "cast(valid_to as " ~ dbt.type_string() ~ ")",
            "' but the next starts at '",
            "cast(next_valid_from as " ~ dbt.type_string() ~ ")",
        ]) }} as problem

    from ordered_versions
    where next_valid_from is not null
        and valid_to <> next_valid_from

)

select * from wrong_current_count
union all
select * from not_contiguous
