-- Products from seeds/products.csv, plus any product code the sources use that the seed does not list
-- (is_unknown_product): facts never lose a row to an unknown code, and the steward sees what to add.

with

products as (

    select * from {{ ref('products') }}

),

accounts as (

    select * from {{ ref('ods_accounts') }}

),

transactions as (

    select * from {{ ref('ods_transactions') }}

),

seeded as (

    select
        upper(trim(product_id)) as product_id,
        product_name,
        product_category,
        is_contractual,
        cast(monthly_servicing_cost as {{ type_money() }}) as monthly_servicing_cost,
        false as is_unknown_product

    from products

),

used_codes as (

    select product_id from accounts where product_id is not null
    union
    select product_id from transactions where product_id is not null

),

unknown as (

    select
        used_codes.product_id,
        used_codes.product_id as product_name,
        'unknown' as product_category,
        cast(null as {{ dbt.type_boolean() }}) as is_contractual,
        cast(null as {{ type_money() }}) as monthly_servicing_cost,
        true as is_unknown_product

    from used_codes
    left join seeded
        on used_codes.product_id = seeded.product_id
    where seeded.product_id is null

),

final as (

    select * from seeded
    union all
    select * from unknown

)

select * from final
