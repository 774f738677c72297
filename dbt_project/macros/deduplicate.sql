{#- Keep one row per `partition_by` from `relation`: the first by `order_by`, which must end in columns
    that make the order total so the survivor is deterministic. Portable: window functions and a filter,
    no QUALIFY. Adds two columns: `survivorship_rank` (always 1 in the result) and `source_row_count`,
    how many rows shared the key (more than 1 = re-delivered or duplicated). -#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {%- set partition_by = [partition_by] if partition_by is string else partition_by -%}
    {%- set order_by = [order_by] if order_by is string else order_by -%}
    select ranked.*
    from (
        select
            deduplicated_source.*,
            row_number() over (
                partition by {{ partition_by | join(', ') }}
                order by {{ order_by | join(', ') }}
            ) as survivorship_rank,
            count(*) over (
                partition by {{ partition_by | join(', ') }}
            ) as source_row_count
        from {{ relation }} as deduplicated_source
    ) as ranked
    where ranked.survivorship_rank = 1
{%- endmacro %}

{#- The survivorship order for a raw entity: latest delivery first, then the latest update the source
    reports (when the entity has one), then the last line of the file (a duplicate later in a file wins),
    then the file name as a final tie-break. -#}
{% macro latest_delivery_order(updated_at=none) -%}
    {%- set order = ['_delivery_date desc'] -%}
    {%- if updated_at is not none -%}
        {%- do order.append(updated_at ~ ' desc nulls last') -%}
    {%- endif -%}
    {%- do order.extend(['_line desc', '_file desc']) -%}
    {{ return(order) }}
{%- endmacro %}
