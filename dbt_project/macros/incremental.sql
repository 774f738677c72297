{#- How an incremental model replaces the rows it recomputes (the rows of loads scored again). -#}

{#- The config of an incremental model keyed on `unique_key` whose new rows replace the stored rows of the
    same (`partition_by`) group. DuckDB: delete+insert on the unique key. Spark: Parquet tables cannot merge or
    delete (that needs Delta, Iceberg or Hudi), so the table is partitioned by `partition_by` and the new
    rows' partitions are overwritten (insert_overwrite, dynamic partitions). The same rows result as long as
    a recomputed group comes whole, as a load's scores do. Use it as `config(**replace_rows_config(...))`. -#}
{% macro replace_rows_config(unique_key, partition_by) -%}
    {{ return(adapter.dispatch('replace_rows_config', 'crm_warehouse')(unique_key, partition_by)) }}
{%- endmacro %}

{% macro default__replace_rows_config(unique_key, partition_by) -%}
    {{ return({'unique_key': unique_key, 'incremental_strategy': 'delete+insert'}) }}
{%- endmacro %}

{% macro spark__replace_rows_config(unique_key, partition_by) -%}
    {{ return({'incremental_strategy': 'insert_overwrite', 'partition_by': partition_by, 'file_format': 'parquet'}) }}
{%- endmacro %}
