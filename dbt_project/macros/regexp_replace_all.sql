{#- Replace every match of a regular expression. The project's one dialect difference: DuckDB and
    Postgres replace only the first match unless given the 'g' flag and take backslashes literally;
    Spark (and most others) replace all matches and unescape backslashes in string literals.
    `pattern` is the regular expression itself, e.g. '\\s+' in Jinja for the regex \s+. -#}
{% macro regexp_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'crm_warehouse')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}', '{{ replacement | replace("\\", "\\\\") | replace("'", "\\'") }}')
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern | replace("'", "''") }}', '{{ replacement | replace("'", "''") }}', 'g')
{%- endmacro %}

{% macro postgres__regexp_replace_all(expression, pattern, replacement) -%}
    {{ return(duckdb__regexp_replace_all(expression, pattern, replacement)) }}
{%- endmacro %}
