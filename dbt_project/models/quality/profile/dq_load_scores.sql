-- Scores per area (0-100) per source system per load (delivery day), kept as history: a load is scored
-- when it first arrives (or when a corrected file for that day is loaded again) and keeps that score
-- afterwards. The score of an area is the mean, over its rules that applied to the load, of the share of
-- rows that passed the rule (each rule weighs the same, so a small customers file is not drowned by a
-- large transactions file).

{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'delivery_date', 'area'],
        incremental_strategy=('merge' if target.type == 'spark' else 'delete+insert'),
        on_schema_change='fail',
    )
}}

with

results as (

    select * from {{ ref('dq_rule_results') }}
    where is_field_delivered and rows_checked > 0

),

loads as (

    select source_system, delivery_date, max(loaded_at) as loaded_at
    from results
    group by 1, 2

),

new_loads as (

    select * from loads
    {%- if is_incremental() %}
    where loaded_at > (select max(loaded_at) from {{ this }})
    {%- endif %}

),

scores as (

    select
        results.source_system,
        results.delivery_date,
        results.area,
        round(100 * avg(1 - cast(results.rows_failed as {{ type_double() }}) / results.rows_checked), 2) as score,
        count(*) as rules_checked,
        sum(case when results.rows_failed > 0 then 1 else 0 end) as rules_failed,
        sum(results.rows_checked) as rows_checked,
        sum(results.rows_failed) as rows_failed,
        max(new_loads.loaded_at) as loaded_at

    from results
    inner join new_loads
        on results.source_system = new_loads.source_system
        and results.delivery_date = new_loads.delivery_date
    group by 1, 2, 3

)

select * from scores
