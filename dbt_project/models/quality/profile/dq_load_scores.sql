-- Scores per area (0-100) per source system per load (delivery day), kept as history: a load is scored
-- when it first arrives (or when a corrected file for that day is loaded again) and keeps that score
-- afterwards. The score of an area is the mean, over its rules that applied to the load, of the share of
-- rows that passed the rule (each rule weighs the same, so a small customers file is not drowned by a
-- large transactions file).

{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **replace_rows_config(['source_system', 'delivery_date', 'area'], ['source_system', 'delivery_date'])
    )
}}

{{ dq_scores_of_new_loads(ref('dq_rule_results')) }}
