{#- Layers land in schemas named after them (staging, ods, snapshots, warehouse, reference) rather than
    dbt's default <target_schema>_<custom>; models without a custom schema use the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
