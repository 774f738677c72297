-- Cross-reference from every source customer id to its customer key. Until identity resolution lands,
-- each source record is its own customer (match_probability 1.0); identity resolution replaces this model
-- and everything downstream picks the resolved keys up through it.

with

customer_ids as (

    select * from {{ ref('int_customer_ids_unioned') }}

),

xref as (

    select
        source_system,
        customer_id as source_customer_id,
        customer_source_key,
        {{ hash_key('source_system', 'customer_id') }} as customer_key,
        cast(1.0 as {{ type_double() }}) as match_probability

    from customer_ids

)

select * from xref
