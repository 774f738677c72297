{#- Snapshots on Spark without Delta, Iceberg or Hudi. dbt-spark's snapshot materialization needs one of those
    table formats, for `merge into`; a local Spark has plain Parquet only. This materialization (found first in
    the root project, it replaces dbt-spark's for adapter spark) keeps dbt's own snapshot logic (the
    configured strategy, dbt's staging rows: inserts, updates and hard deletes) and, instead of merging them
    in, rebuilds the table: the stored versions, closed where the staging rows close them, plus the new
    versions, written to a work table and then over the snapshot (Spark cannot overwrite a table it is reading
    in the same statement). It works on any table format, at the cost of rewriting the snapshot each run. -#}
{% materialization snapshot, adapter='spark' %}
    {%- set target_table = model.get('alias', model.get('name')) -%}
    {%- set strategy_name = config.get('strategy') -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set columns = config.get('snapshot_table_column_names') or get_snapshot_table_column_names() -%}

    {%- set target_relation_exists, target_relation = get_or_create_relation(
        database=none, schema=model.schema, identifier=target_table, type='table') -%}

    {%- if not adapter.check_schema_exists(model.database, model.schema) -%}
        {%- do create_schema(model.schema) -%}
    {%- endif -%}
    {%- if not target_relation.is_table -%}
        {%- do exceptions.relation_wrong_type(target_relation, 'table') -%}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set strategy_macro = strategy_dispatch(strategy_name) -%}
    {%- set strategy = strategy_macro(model, "snapshotted_data", "source_data", model['config'], target_relation_exists) -%}

    {%- if not target_relation_exists -%}
        {%- set final_sql = create_table_as(False, target_relation, build_snapshot_table(strategy, model['compiled_code'])) -%}
        {% call statement('main') %}{{ final_sql }}{% endcall %}
    {%- else -%}
        {{ adapter.valid_snapshot_target(target_relation, columns) }}
        {%- set staging_table = spark_build_snapshot_staging_table(strategy, sql, target_relation) -%}
        {%- set bookkeeping = ['dbt_change_type', 'dbt_unique_key'] -%}
        {%- set missing_columns = adapter.get_missing_columns(staging_table, target_relation)
            | rejectattr('name', 'in', bookkeeping) | list -%}
        {%- do create_columns(target_relation, missing_columns) -%}
        {%- set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list -%}
        {%- set rebuilt_relation = api.Relation.create(
            identifier=target_table ~ '__dbt_rebuilt', schema=model.schema, database=none, type='table') -%}
        {%- do adapter.drop_relation(rebuilt_relation) -%}
        {% call statement('build_rebuilt_snapshot') %}
            {{ create_table_as(False, rebuilt_relation, spark_snapshot_rebuild_sql(target_relation, staging_table, target_columns, columns)) }}
        {% endcall %}
        {% call statement('main') %}
            insert overwrite table {{ target_relation }}
            select {% for column in target_columns %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}
            from {{ rebuilt_relation }}
        {% endcall %}
        {%- do adapter.drop_relation(rebuilt_relation) -%}
    {%- endif -%}

    {%- set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {%- if staging_table is defined -%}
        {%- do post_snapshot(staging_table) -%}
    {%- endif -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- The snapshot after this run, from the stored versions `target` and dbt's staging rows `staging`: what
    `merge into` would leave. A current version that an update or a hard delete closes gets its valid_to; an
    insert adds a version (dbt_change_type as dbt's snapshot_staging_table sets it). -#}
{% macro spark_snapshot_rebuild_sql(target, staging, target_columns, columns) -%}
    select
        {%- for column in target_columns %}
        {% if column == columns.dbt_valid_to -%}
        case when closing.{{ columns.dbt_scd_id }} is not null then closing.{{ columns.dbt_valid_to }}
            else stored.{{ columns.dbt_valid_to }} end as {{ adapter.quote(column) }}
        {%- else -%}
        stored.{{ adapter.quote(column) }}
        {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ target }} as stored
    left join (
        select {{ columns.dbt_scd_id }}, max({{ columns.dbt_valid_to }}) as {{ columns.dbt_valid_to }}
        from {{ staging }}
        where dbt_change_type in ('update', 'delete')
        group by {{ columns.dbt_scd_id }}
    ) as closing
        on stored.{{ columns.dbt_scd_id }} = closing.{{ columns.dbt_scd_id }}
        and stored.{{ columns.dbt_valid_to }} is null
    union all
    select
        {%- for column in target_columns %}
        {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ staging }}
    where dbt_change_type = 'insert'
{%- endmacro %}
