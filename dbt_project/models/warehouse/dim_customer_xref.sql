-- Published cross-reference: every source customer id (source_system, source_customer_id) and the
-- customer_key identity resolution gave it, with the probability of its strongest link. Records of one
-- person in several systems (or twice in one) share a customer_key; dim_customer holds one golden record
-- per key.

with

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

final as (

    select
        source_system,
        source_customer_id,
        customer_key,
        match_probability

    from xref

)

select * from final
