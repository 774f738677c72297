-- Consistency across source systems: once identity resolution has put records of several systems under
-- one customer_key, do the systems agree on who the customer is? One row per source system, delivery
-- day and field (first_name, last_name, date_of_birth, email, phone, postcode), shaped like
-- dq_rule_results (area 'cross_system_consistency', rule 'agrees_across_systems').
--
-- A delivered customer row is checked on a field when it holds a value and the current record of some
-- other system under the same customer_key holds one too (ods.int_customers_conformed: detected
-- placeholder birth dates and invalid emails blanked there); it fails when one of those values differs.
-- Values are compared as matching compares them, roughly: names and emails without case, phones on their
-- last ten digits, postcodes without spaces. Records of one system under one key (a system's own
-- duplicates) are not compared with each other. Examples are masked: "<delivered> / <other system's>".

{%- set fields = {
    'first_name': ('lower({t}.first_name)', 'text'),
    'last_name': ('lower({t}.last_name)', 'text'),
    'date_of_birth': ('{t}.date_of_birth', 'date'),
    'email': ('case when {t}.is_email_valid then lower({t}.email) end', 'email'),
    'phone': (dbt.right("replace({t}.phone, '+', '')", '10'), 'phone'),
    'postcode': ('{t}.postcode_key', 'none'),
} %}

with

delivered as (

    select * from {{ ref('stg_landing__customers') }}

),

conformed as (

    select * from {{ ref('int_customers_conformed') }}

),

xref as (

    select * from {{ ref('ods_customer_xref') }}

),

-- Delivered rows (as delivered: a record delivered twice counts in both loads) with their customer key.
delivered_rows as (

    select
        delivered.source_system,
        delivered._delivery_date as delivery_date,
        delivered._loaded_at as loaded_at,
        delivered._file,
        delivered._line,
        xref.customer_key,
        {%- for field, (expr, mask) in fields.items() %}
        {{ expr.replace('{t}', 'delivered') }} as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    from delivered
    inner join xref
        on delivered.source_system = xref.source_system
        and delivered.customer_id = xref.source_customer_id

),

-- The current record of every source customer, with its key (id-only records hold no values).
current_records as (

    select
        conformed.source_system,
        xref.customer_key,
        lower(conformed.first_name) as first_name,
        lower(conformed.last_name) as last_name,
        conformed.date_of_birth,
        lower(conformed.email) as email,
        {{ dbt.right("replace(conformed.phone, '+', '')", '10') }} as phone,
        {{ postcode_key('conformed.postcode') }} as postcode
    from conformed
    inner join xref
        on conformed.source_system = xref.source_system
        and conformed.customer_id = xref.source_customer_id
    where not conformed.is_id_only

),

{%- for field, (expr, mask) in fields.items() %}

compared_{{ field }} as (

    select
        delivered_rows.source_system,
        delivered_rows.delivery_date,
        delivered_rows._file,
        delivered_rows._line,
        max(delivered_rows.loaded_at) as loaded_at,
        max(case when other.{{ field }} <> delivered_rows.{{ field }} then 1 else 0 end) as is_conflict,
        min(case when other.{{ field }} <> delivered_rows.{{ field }} then
            {{ dbt.concat([mask_pii('delivered_rows.' ~ field, mask), "' / '", mask_pii('other.' ~ field, mask)]) }}
        end) as example
    from delivered_rows
    inner join current_records as other
        on delivered_rows.customer_key = other.customer_key
        and delivered_rows.source_system <> other.source_system
    where delivered_rows.{{ field }} is not null and other.{{ field }} is not null
    group by 1, 2, 3, 4

),

results_{{ field }} as (

    select
        source_system,
        'customers' as entity,
        delivery_date,
        max(loaded_at) as loaded_at,
        '{{ field }}' as field_name,
        'agrees_across_systems' as rule_name,
        'cross_system_consistency' as area,
        count(*) as rows_checked,
        sum(is_conflict) as rows_failed,
        min(example) as first_example,
        max(example) as last_example
    from compared_{{ field }}
    group by 1, 2, 3

),
{%- endfor %}

unioned as (

    {%- for field in fields %}
    select * from results_{{ field }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        source_system,
        entity,
        delivery_date,
        loaded_at,
        field_name,
        rule_name,
        area,
        rows_checked,
        rows_failed,
        first_example,
        last_example,
        {{ dq_example_values('first_example', 'last_example') }} as example_values,
        true as is_field_delivered

    from unioned

)

select * from final
