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

{#- The config of an ODS event table (ods_transactions, ods_interactions) kept up to date incrementally:
    each build adds the events delivered since the last one and rewrites the events whose customer identity
    resolution moved to another customer_key. DuckDB: incremental, delete+insert on `unique_key`; a day
    delivered again (the loader replaced its rows) empties the table first, so that build is a full one and
    no event the new file left out survives (events_rebuild_on_redelivery). Spark: a table rebuilt whole
    (Parquet tables cannot delete rows); the model's SQL takes its full-build branch there. -#}
{% macro event_table_config(unique_key, entity) -%}
    {{ return(adapter.dispatch('event_table_config', 'crm_warehouse')(unique_key, entity)) }}
{%- endmacro %}

{% macro default__event_table_config(unique_key, entity) -%}
    {{ return({
        'materialized': 'incremental',
        'unique_key': unique_key,
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'fail',
        'pre_hook': events_rebuild_on_redelivery(entity),
    }) }}
{%- endmacro %}

{% macro spark__event_table_config(unique_key, entity) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{#- pre_hook: when a day of `entity` was delivered again since the table's last build, delete every row,
    so the build that follows recomputes the whole table (its watermark is then empty). -#}
{% macro events_rebuild_on_redelivery(entity) -%}
    {%- set hook -%}
    {% raw %}{% if is_incremental() %}{% endraw %}
    delete from {{ '{{ this }}' }}
    where exists (
        select 1
        from {{ "{{ source('landing', 'load_log') }}" }} as replaced
        inner join {{ "{{ source('landing', 'load_log') }}" }} as replacing
            on replaced.source_system = replacing.source_system
            and replaced.entity = replacing.entity
            and replaced._delivery_date = replacing._delivery_date
        where replaced.entity = '{{ entity }}'
            and not replaced.is_current
            and replacing.is_current
            and replacing._loaded_at > (select max(built._loaded_at) from {{ '{{ this }}' }} as built)
    )
    {% raw %}{% endif %}{% endraw %}
    {%- endset -%}
    {{ return(hook) }}
{%- endmacro %}

{#- The watermark of an incremental event table: the load time of the newest raw row it holds. -#}
{% macro events_loaded_after_watermark(loaded_at) -%}
    {{ loaded_at }} > coalesce(
        (select max(built._loaded_at) from {{ this }} as built),
        cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
    )
{%- endmacro %}
