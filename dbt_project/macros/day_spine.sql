{#- A select of one row per day (column `date_day`) from `start_date` to `end_date` inclusive, both SQL
    expressions over the single-row relation `bounds`. Numbers come from cross-joined digits, so no
    generate_series or other engine function is needed, and no nested WITH; `max_days` caps the span. -#}
{% macro day_spine(bounds, start_date, end_date, max_days=100000) -%}
    {%- set n_digits = ((max_days - 1) | string) | length -%}
    select
        cast({{ dbt.dateadd('day', 'spine_numbers.n', 'spine_bounds.start_date') }} as date) as date_day
    from (
        select
            cast({{ start_date }} as date) as start_date,
            cast({{ end_date }} as date) as end_date
        from {{ bounds }}
    ) as spine_bounds
    cross join (
        {{ number_spine(n_digits) | indent(8) }}
    ) as spine_numbers
    where spine_numbers.n <= {{ dbt.datediff('spine_bounds.start_date', 'spine_bounds.end_date', 'day') }}
{%- endmacro %}

{#- The whole numbers 0 .. 10^digits - 1 as column `n`, from cross-joined digits (no engine function). -#}
{% macro number_spine(digits) -%}
    select
        {% for position in range(digits) -%}
        d{{ position }}.digit * {{ 10 ** position }}{{ " +" if not loop.last }}
        {% endfor -%}
        as n
    from
    {%- for position in range(digits) %}
        {{ "cross join " if not loop.first }}(
            {%- for digit in range(10) -%}
            select {{ digit }} as digit{{ " union all " if not loop.last }}
            {%- endfor -%}
        ) as d{{ position }}
    {%- endfor %}
{%- endmacro %}
