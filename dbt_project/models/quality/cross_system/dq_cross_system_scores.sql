-- Cross-system consistency scores (0-100) per source system per load, kept as history like
-- dq_load_scores: a load is scored when it is first built after identity resolution and keeps that score
-- (a record another system delivers later, disagreeing with it, counts against that later load).

{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'delivery_date', 'area'],
        incremental_strategy=('merge' if target.type == 'spark' else 'delete+insert'),
        on_schema_change='fail',
    )
}}

{{ dq_scores_of_new_loads(ref('dq_cross_system_results')) }}
