-- Cross-system consistency scores (0-100) per source system per load, kept as history like
-- dq_load_scores: a load is scored when it is first built after identity resolution and keeps that score
-- (a record another system delivers later, disagreeing with it, counts against that later load).

{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **replace_rows_config(['source_system', 'delivery_date', 'area'], ['source_system', 'delivery_date'])
    )
}}

{{ dq_scores_of_new_loads(ref('dq_cross_system_results')) }}
