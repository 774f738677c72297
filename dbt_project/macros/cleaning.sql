{#- Standardising expressions used by staging. Portable SQL only; the one dialect difference
    (regex replace-all) lives in regexp_replace_all. -#}

{#- Trimmed text; empty or blank becomes null. -#}
{% macro clean_string(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- Free text with runs of whitespace collapsed to one space (names, addresses). -#}
{% macro clean_text(column) -%}
    nullif(trim({{ regexp_replace_all(column, '\\s+', ' ') }}), '')
{%- endmacro %}

{#- A code matched against a seed: trimmed, lower case (channel, type, status codes). -#}
{% macro clean_code(column) -%}
    lower({{ clean_string(column) }})
{%- endmacro %}

{#- Postcode for display: upper case, single spaces. -#}
{% macro clean_postcode(column) -%}
    upper({{ clean_text(column) }})
{%- endmacro %}

{#- Postcode for joining: upper case, no spaces ('sw1a 1aa' and 'SW1A1AA' match). -#}
{% macro postcode_key(column) -%}
    nullif(upper(replace(trim({{ column }}), ' ', '')), '')
{%- endmacro %}

{#- True when the (already cleaned) email looks like something@something.tld without spaces;
    false when it does not or is missing. -#}
{% macro is_valid_email(column) -%}
    case
        when {{ column }} like '%_@_%._%'
            and {{ column }} not like '%@%@%'
            and {{ column }} not like '% %'
            then true
        else false
    end
{%- endmacro %}

{#- Gender codes standardised to F, M, O (other) or U (unknown / missing). -#}
{% macro standardise_gender(column) -%}
    case
        when lower(trim({{ column }})) in ('f', 'female', 'w', 'woman') then 'F'
        when lower(trim({{ column }})) in ('m', 'male', 'man') then 'M'
        when {{ clean_string(column) }} is null or lower(trim({{ column }})) in ('u', 'unknown') then 'U'
        else 'O'
    end
{%- endmacro %}

{#- Phone keeping digits and a leading '+' only, so formats compare equal; Persian and Arabic-Indic digits
    become 0-9 first (else a phone typed in them would shrink to '+'). -#}
{% macro clean_phone(column) -%}
    nullif({{ regexp_replace_all(
        "translate(" ~ clean_string(column) ~ ", '۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩', '01234567890123456789')",
        '[^0-9+]', '') }}, '')
{%- endmacro %}
