{#- Types the contract uses that dbt's type_* macros do not give exactly. -#}

{#- Money in one currency, as the landing contract stores it. -#}
{% macro type_money() -%}
    decimal(18,2)
{%- endmacro %}

{#- 64-bit float (dbt.type_float() is a 32-bit FLOAT on DuckDB). -#}
{% macro type_double() -%}
    double
{%- endmacro %}
