-- Cross-reference from every source customer id (in a customers file or only in events) to its
-- customer_key, as identity resolution linked them (models_ml/identity). Records of one real customer,
-- within or across source systems, share a key; match_probability is the probability of the record's
-- strongest kept link (1.0 for a customer of one record).

with

xref as (

    select * from {{ ref('stg_customer_identity__xref') }}

),

final as (

    select
        source_system,
        source_customer_id,
        customer_source_key,
        customer_key,
        match_probability

    from xref

)

select * from final
