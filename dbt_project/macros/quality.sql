{#- Helpers of the data-quality models (models/quality/). Portable SQL only. -#}

{#- A value shown in data_quality_issues with its personal part hidden. `kind` says what the value is:
    'email' keeps the first letter and the domain, 'phone' and 'id' the last two characters, 'date' the
    year, 'text' (names, address lines) the first letter; 'none' shows the value as it is (codes, amounts,
    timestamps of events, and detected sentinels: a value shared by many records identifies nobody). -#}
{% macro mask_pii(column, kind) -%}
    {%- set value = 'cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- if kind == 'email' -%}
        case
            when {{ dbt.position("'@'", value) }} > 0
                then {{ dbt.concat(['substring(' ~ value ~ ', 1, 1)', "'***@'",
                    dbt.right(value, 'length(' ~ value ~ ') - ' ~ dbt.position("'@'", value))]) }}
            else {{ dbt.concat(['substring(' ~ value ~ ', 1, 1)', "'***'"]) }}
        end
    {%- elif kind in ('phone', 'id') -%}
        {{ dbt.concat(["'***'", dbt.right(value, '2')]) }}
    {%- elif kind == 'date' -%}
        {{ dbt.concat(['substring(' ~ value ~ ', 1, 4)', "'-**-**'"]) }}
    {%- elif kind == 'text' -%}
        {{ dbt.concat(['substring(' ~ value ~ ', 1, 1)', "'***'"]) }}
    {%- else -%}
        {{ value }}
    {%- endif -%}
{%- endmacro %}

{#- Two example values as one: null, the value when both are the same, or 'first, last'. -#}
{% macro dq_example_values(first_example, last_example) -%}
    case
        when {{ first_example }} is null then null
        when {{ first_example }} = {{ last_example }} then {{ first_example }}
        else {{ dbt.concat([first_example, "', '", last_example]) }}
    end
{%- endmacro %}

{#- Month and day of a date as 'MM-DD' (the birthday without the year). -#}
{% macro month_day(column) -%}
    substring(cast({{ column }} as {{ dbt.type_string() }}), 6, 5)
{%- endmacro %}

{#- The last seven digits of a cleaned phone (the subscriber number, without country or area code). -#}
{% macro phone_subscriber(column) -%}
    case when length({{ column }}) >= 7 then {{ dbt.right(column, '7') }} end
{%- endmacro %}

{#- A national id compared without spaces or case ('AB 12 34 56 C' = 'ab123456c'). -#}
{% macro national_id_key(column) -%}
    nullif(upper(replace({{ column }}, ' ', '')), '')
{%- endmacro %}

{#- True when the timestamp or date lies outside [1900-01-01, the delivery day + 1 day): unparsable as a
    real event of the past. -#}
{% macro is_implausible_date(column, delivery_date='_delivery_date') -%}
    ({{ column }} < cast('1900-01-01' as date) or {{ column }} >= {{ dbt.dateadd('day', 1, delivery_date) }})
{%- endmacro %}

{#- Rule: (field, rule, area, applies to the row when, fails when, example value, how to mask it).
    Completeness applies to every row; the other rules apply where the value is present. -#}
{% macro dq_rule_completeness(field, present=none) %}
    {{ return((field, 'is_present', 'completeness', 'true', (field ~ ' is null') if present is none else ('not (' ~ present ~ ')'), 'null', 'none')) }}
{% endmacro %}
{% macro dq_rule_not_after_delivery(field, mask='none') %}
    {{ return((field, 'date_in_plausible_range', 'validity', field ~ ' is not null', is_implausible_date(field), field, mask)) }}
{% endmacro %}
{% macro dq_rule_non_negative(field) %}
    {{ return((field, 'non_negative', 'validity', field ~ ' is not null', field ~ ' < 0', field, 'none')) }}
{% endmacro %}
{% macro dq_rule_unique_in_load(field) %}
    {{ return((field, 'unique_in_delivery', 'uniqueness', 'true', 'rows_with_key_in_delivery > 1', field, 'none')) }}
{% endmacro %}
{% macro dq_rule_delivered_within_lag(field) %}
    {{ return((field, 'delivered_within_' ~ var('dq_delivery_max_lag_days') ~ '_days', 'timeliness', field ~ ' is not null',
        field ~ ' < ' ~ dbt.dateadd('day', -var('dq_delivery_max_lag_days'), '_delivery_date'), field, 'none')) }}
{% endmacro %}
{% macro dq_rule_known_code(field, known) %}
    {{ return((field, 'known_code', 'consistency', field ~ ' is not null', 'not ' ~ known, field, 'none')) }}
{% endmacro %}


{#- The sentinels among value counts (columns source_system, field_name, pattern, sentinel_value,
    day_number, records_with_value): each value's expected count from its field's distribution, the
    excess z = 2 (sqrt(n) - sqrt(expected)), and the values over both thresholds with the reason
    (dq_sentinel_values; README, "Data quality"). -#}
{% macro sentinels_among(counts) -%}
    {%- set window_days = var('dq_sentinel_window_days') -%}
    select
        scored.source_system,
        'customers' as entity,
        scored.field_name,
        scored.pattern,
        scored.sentinel_value,
        scored.records_with_value,
        scored.records_in_field,
        round(scored.expected_records, 3) as expected_records,
        round(scored.z_score, 2) as z_score,
        {{ dbt.concat([
            "scored.field_name",
            "case when scored.pattern = 'value' then ' ' else " ~ dbt.concat(["' ('", "scored.pattern", "') '"]) ~ " end",
            "scored.sentinel_value",
            "' on '", "cast(scored.records_with_value as " ~ dbt.type_string() ~ ")",
            "' of '", "cast(scored.records_in_field as " ~ dbt.type_string() ~ ")",
            "' records; the field''s distribution predicts '",
            "cast(round(scored.expected_records, 2) as " ~ dbt.type_string() ~ ")",
            "' (z = '", "cast(round(scored.z_score, 1) as " ~ dbt.type_string() ~ ")", "')'",
        ]) }} as reason
    from (
        select
            expected.*,
            2 * (sqrt(expected.records_with_value) - sqrt(expected.expected_records)) as z_score
        from (
            select
                neighbourhood.source_system,
                neighbourhood.field_name,
                neighbourhood.pattern,
                neighbourhood.sentinel_value,
                neighbourhood.records_with_value,
                neighbourhood.records_in_field,
                cast(
                    case
                        when neighbourhood.field_name = 'date_of_birth' and neighbourhood.pattern = 'value'
                            then neighbourhood.records_on_neighbouring_days / {{ 2 * window_days }}.0
                        -- 29 February comes once in four years
                        when neighbourhood.pattern = 'month_day' and neighbourhood.sentinel_value = '02-29'
                            then neighbourhood.records_in_field / 1461.0
                        when neighbourhood.pattern = 'month_day'
                            then neighbourhood.records_in_field * 4.0 / 1461.0
                        else neighbourhood.median_records_per_value
                    end
                    as {{ type_double() }}
                ) as expected_records
            from (
                -- Field totals as window aggregates over the same rows, not a join back to a per-field
                -- aggregate: DuckDB 2.0.0 fails that self-join at 1M customers with an internal error
                -- ("dict-surviving cache: global dictionary column N changed identity"). median() is
                -- the interpolated median on DuckDB and on Spark (3.4+).
                select
                    counts.*,
                    -- records on the neighbouring days of a birth date, the day itself left out
                    sum(counts.records_with_value) over (
                        partition by counts.source_system, counts.field_name, counts.pattern
                        order by counts.day_number
                        range between {{ window_days }} preceding and {{ window_days }} following
                    ) - counts.records_with_value as records_on_neighbouring_days,
                    sum(counts.records_with_value) over (
                        partition by counts.source_system, counts.field_name, counts.pattern
                    ) as records_in_field,
                    median(counts.records_with_value) over (
                        partition by counts.source_system, counts.field_name, counts.pattern
                    ) as median_records_per_value
                from {{ counts }} as counts
            ) as neighbourhood
        ) as expected
    ) as scored
    where scored.z_score >= {{ var('dq_sentinel_min_z') }}
        and scored.records_with_value >= {{ var('dq_sentinel_min_ratio') }} * scored.expected_records
{%- endmacro %}

{#- The detected sentinels (dq_sentinel_values) a customers row can hold: (join alias, field, pattern,
    the row's value compared). Used by join_sentinels and sentinel_flags. -#}
{% macro sentinel_patterns(alias) %}
    {{ return([
        ('birth_date_value', 'date_of_birth', 'value', 'cast(' ~ alias ~ '.date_of_birth as ' ~ dbt.type_string() ~ ')'),
        ('birth_date_month_day', 'date_of_birth', 'month_day', month_day(alias ~ '.date_of_birth')),
        ('phone_value', 'phone', 'value', alias ~ '.phone'),
        ('phone_last_7_digits', 'phone', 'last_7_digits', phone_subscriber(alias ~ '.phone')),
        ('email_value', 'email', 'value', alias ~ '.email'),
        ('national_id_value', 'national_id', 'value', national_id_key(alias ~ '.national_id')),
    ]) }}
{% endmacro %}

{#- Left joins from customers rows `alias` to every sentinel pattern in `sentinels`. -#}
{% macro join_sentinels(alias, sentinels) -%}
    {%- for join_alias, field, pattern, expression in sentinel_patterns(alias) %}
    left join {{ sentinels }} as {{ join_alias }}
        on {{ join_alias }}.source_system = {{ alias }}.source_system
        and {{ join_alias }}.field_name = '{{ field }}'
        and {{ join_alias }}.pattern = '{{ pattern }}'
        and {{ join_alias }}.sentinel_value = {{ expression }}
    {%- endfor %}
{%- endmacro %}

{#- is_sentinel_birth_date, is_sentinel_phone, is_sentinel_email, is_sentinel_national_id of a row joined
    with join_sentinels. -#}
{% macro sentinel_flags() -%}
    case
        when birth_date_value.sentinel_value is not null or birth_date_month_day.sentinel_value is not null
            then true
        else false
    end as is_sentinel_birth_date,
    case
        when phone_value.sentinel_value is not null or phone_last_7_digits.sentinel_value is not null then true
        else false
    end as is_sentinel_phone,
    case when email_value.sentinel_value is not null then true else false end as is_sentinel_email,
    case when national_id_value.sentinel_value is not null then true else false end as is_sentinel_national_id
{%- endmacro %}

{#- The body of an incremental score history (dq_load_scores, dq_cross_system_scores): per source system,
    delivery day and area, 0-100, for the loads of `results` (a relation shaped like dq_rule_results)
    not scored yet, or loaded again (a corrected file) since they were scored; a load keeps its score
    afterwards. The score of an area is the mean, over its rules that
    applied to the load, of the share of rows that passed the rule (each rule weighs the same). -#}
{% macro dq_scores_of_new_loads(results) %}
with

results as (

    select * from {{ results }}
    where is_field_delivered and rows_checked > 0

),

loads as (

    select source_system, delivery_date, max(loaded_at) as loaded_at
    from results
    group by 1, 2

),

new_loads as (

    select loads.* from loads
    {%- if is_incremental() %}
    left join (
        select source_system, delivery_date, max(loaded_at) as loaded_at from {{ this }} group by 1, 2
    ) as scored
        on loads.source_system = scored.source_system
        and loads.delivery_date = scored.delivery_date
    where scored.loaded_at is null or loads.loaded_at > scored.loaded_at
    {%- endif %}

),

scores as (

    select
        results.source_system,
        results.delivery_date,
        results.area,
        round(100 * avg(1 - cast(results.rows_failed as {{ type_double() }}) / results.rows_checked), 2) as score,
        count(*) as rules_checked,
        sum(case when results.rows_failed > 0 then 1 else 0 end) as rules_failed,
        sum(results.rows_checked) as rows_checked,
        sum(results.rows_failed) as rows_failed,
        max(new_loads.loaded_at) as loaded_at

    from results
    inner join new_loads
        on results.source_system = new_loads.source_system
        and results.delivery_date = new_loads.delivery_date
    group by 1, 2, 3

)

select * from scores
{% endmacro %}

{#- The rows of `entity` in the loads this run profiles, as a subquery: what staged_<entity> holds, for a
    second read of it in dq_rule_results (DuckDB would materialise a CTE read twice: every column of
    every row). -#}
{% macro dq_staged_rows(entity) -%}
    (
        select loaded.*
        from {{ ref('stg_landing__' ~ entity) }} as loaded
        inner join new_loads
            on loaded.source_system = new_loads.source_system
            and loaded._delivery_date = new_loads._delivery_date
    )
{%- endmacro %}
