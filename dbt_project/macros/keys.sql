{#- Keys built from a source record's natural key. Ids are only unique within one source system, so the
    system is always part of the key. -#}

{#- Readable per-source key: '<source_system>|<id>[|<id>...]'. -#}
{% macro source_key(source_system, ids) -%}
    {%- set ids = [ids] if ids is string else ids -%}
    {%- set parts = [source_system] -%}
    {%- for id in ids -%}
        {%- do parts.extend(["'|'", id]) -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- Hashed surrogate of the same natural key (fixed width, safe to join on in any engine). -#}
{% macro hash_key(source_system, ids) -%}
    {{ dbt.hash(source_key(source_system, ids)) }}
{%- endmacro %}
