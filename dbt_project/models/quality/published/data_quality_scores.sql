-- Published data-quality scores: per source system, load (delivery day) and area, 0-100, as recorded
-- when each load arrived (dq_load_scores; the area cross_system_consistency from dq_cross_system_scores),
-- for the loads the warehouse holds now (a `crmw refresh --to D` sets later deliveries aside, and their
-- scores with them).

with

scores as (

    select * from {{ ref('dq_load_scores') }}
    union all
    select * from {{ ref('dq_cross_system_scores') }}

),

load_log as (

    select * from {{ ref('stg_landing__load_log') }}

),

loads_held as (

    select distinct source_system, _delivery_date as delivery_date from load_log

),

published as (

    select
        scores.source_system,
        scores.delivery_date,
        scores.area,
        scores.score,
        scores.rules_checked,
        scores.rules_failed,
        scores.rows_checked,
        scores.rows_failed,
        scores.loaded_at

    from scores
    inner join loads_held
        on scores.source_system = loads_held.source_system
        and scores.delivery_date = loads_held.delivery_date

)

select * from published
