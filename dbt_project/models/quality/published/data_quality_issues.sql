-- Published data-quality issues: every rule that failed on some row of the data the warehouse holds now,
-- per source system, entity and field, with the rows affected, the deliveries they came in and example
-- values (masked when personal; detected sentinels are shown, a value shared by many records identifies
-- nobody). Sentinel rules say why the value was found to be a placeholder.

with

{#- Columns named, not `*`: the union is by position, and on Spark dq_rule_results keeps its partition
    columns (source_system, delivery_date) last. -#}
{%- set result_columns = 'source_system, entity, delivery_date, loaded_at, field_name, rule_name, area, '
    ~ 'rows_checked, rows_failed, first_example, last_example, example_values, is_field_delivered' %}

results as (

    select {{ result_columns }} from {{ ref('dq_rule_results') }}
    where is_field_delivered
    union all
    select {{ result_columns }} from {{ ref('dq_cross_system_results') }}

),

sentinels as (

    select * from {{ ref('dq_sentinel_values') }}

),

sentinel_reasons as (

    select
        source_system,
        entity,
        field_name,
        {{ dbt.listagg('reason', "'; '", 'order by reason') }} as detail
    from sentinels
    group by 1, 2, 3

),

failed as (

    select
        source_system,
        entity,
        field_name,
        rule_name,
        area,
        sum(rows_checked) as rows_checked,
        sum(rows_failed) as rows_affected,
        sum(case when rows_failed > 0 then 1 else 0 end) as deliveries_affected,
        min(case when rows_failed > 0 then delivery_date end) as first_delivery_date,
        max(case when rows_failed > 0 then delivery_date end) as last_delivery_date,
        min(first_example) as first_example,
        max(last_example) as last_example
    from results
    group by 1, 2, 3, 4, 5
    having sum(rows_failed) > 0

),

issues as (

    select
        failed.source_system,
        failed.entity,
        failed.field_name,
        failed.rule_name,
        failed.area,
        failed.rows_checked,
        failed.rows_affected,
        round(100.0 * failed.rows_affected / failed.rows_checked, 2) as percent_affected,
        failed.deliveries_affected,
        failed.first_delivery_date,
        failed.last_delivery_date,
        {{ dq_example_values('failed.first_example', 'failed.last_example') }} as example_values,
        case when failed.rule_name = 'sentinel_value' then sentinel_reasons.detail end as detail

    from failed
    left join sentinel_reasons
        on failed.source_system = sentinel_reasons.source_system
        and failed.entity = sentinel_reasons.entity
        and failed.field_name = sentinel_reasons.field_name

)

select * from issues
