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
    no event the new file left out survives (events_rebuild_on_redelivery). A table built before
    `_loaded_at` existed gains the column, empty: below any watermark, so that first build takes every
    event again and fills it (append_new_columns). Spark: a table rebuilt whole
    (Parquet tables cannot delete rows); the model's SQL takes its full-build branch there. -#}
{% macro event_table_config(unique_key, entity) -%}
    {{ return(adapter.dispatch('event_table_config', 'crm_warehouse')(unique_key, entity)) }}
{%- endmacro %}

{% macro default__event_table_config(unique_key, entity) -%}
    {{ return({
        'materialized': 'incremental',
        'unique_key': unique_key,
        'incremental_strategy': 'delete+insert',
        'on_schema_change': 'append_new_columns',
        'pre_hook': "{{ events_rebuild_on_redelivery('" ~ entity ~ "') }}",
    }) }}
{%- endmacro %}

{% macro spark__event_table_config(unique_key, entity) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{#- pre_hook (rendered when the model runs): when a day of `entity` was delivered again since the table's
    last build, delete every row, so the build that follows recomputes the whole table (its watermark is then
    empty). Nothing on a full build, or while the table has no watermark column yet. -#}
{% macro events_rebuild_on_redelivery(entity) -%}
    {%- if is_incremental() and events_have_watermark() %}
    delete from {{ this }}
    where exists (
        select 1
        from {{ source('landing', 'load_log') }} as replaced
        inner join {{ source('landing', 'load_log') }} as replacing
            on replaced.source_system = replacing.source_system
            and replaced.entity = replacing.entity
            and replaced._delivery_date = replacing._delivery_date
        where replaced.entity = '{{ entity }}'
            and not replaced.is_current
            and replacing.is_current
            and replacing._loaded_at > (select max(built._loaded_at) from {{ this }} as built)
    )
    {%- endif %}
{%- endmacro %}

{#- Whether the incremental event table already has its `_loaded_at` watermark column. -#}
{% macro events_have_watermark() -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return('_loaded_at' in names) }}
{%- endmacro %}

{#- The watermark test of an incremental event table: loaded after the newest raw row it holds (every
    row, while the table has no watermark column yet). -#}
{% macro events_loaded_after_watermark(loaded_at) -%}
    {%- if events_have_watermark() -%}
    {{ loaded_at }} > coalesce(
        (select max(built._loaded_at) from {{ this }} as built),
        cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
    )
    {%- else -%}
    {{ loaded_at }} is not null
    {%- endif -%}
{%- endmacro %}

{#- The incremental source of an ODS event table: every raw version (from `staging`) of the events delivered
    since the table's watermark, deduplicated as the int_<entity>_deduplicated view does. -#}
{% macro events_delivered_since(staging, natural_key) -%}
    {%- set delivered_rows -%}
    (
        select staged.*
        from {{ staging }} as staged
        inner join (
            select distinct source_system, {{ natural_key }}
            from {{ staging }}
            where {{ events_loaded_after_watermark('_loaded_at') }}
        ) as new_ids
            on staged.source_system = new_ids.source_system
            and staged.{{ natural_key }} = new_ids.{{ natural_key }}
    )
    {%- endset -%}
    {{ deduplicate(delivered_rows, ['source_system', natural_key], latest_delivery_order()) }}
{%- endmacro %}

{#- Rows of the incremental event table whose source customer now has another customer_key in `xref`,
    and that `delivered` (this build's new rows) does not replace: the same columns, the key rewritten. -#}
{% macro events_rekeyed(delivered, xref, unique_key) -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    select
        {%- for column in columns %}
        {{ xref ~ '.customer_key' if column == 'customer_key' else 'kept.' ~ column }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as kept
    inner join {{ xref }}
        on kept.source_system = {{ xref }}.source_system
        and kept.source_customer_id = {{ xref }}.source_customer_id
    left join {{ delivered }} as redelivered
        on kept.{{ unique_key }} = redelivered.{{ unique_key }}
    where redelivered.{{ unique_key }} is null
        and (kept.customer_key is null or kept.customer_key <> {{ xref }}.customer_key)
{%- endmacro %}

{#- The rows an ODS event table's build writes: `conformed` (its new or, on a full build, all events) and, on
    an incremental build, the rows already there whose source customer now has another customer_key in `xref`
    and that no new delivery (`delivered`) replaces (events_rekeyed). -#}
{% macro events_with_rekeyed(conformed, delivered, xref, unique_key) -%}
    select * from {{ conformed }}
    {%- if is_incremental() and events_have_watermark() %}
    union all
    {{ events_rekeyed(delivered, xref, unique_key) }}
    {%- endif %}
{%- endmacro %}
