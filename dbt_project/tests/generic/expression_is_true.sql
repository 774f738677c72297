{#- Row-level invariant: every row satisfies `expression` (rows where it is false are returned; rows where
    it is null count as passing only when `allow_null` is true). -#}
{% test expression_is_true(model, expression, column_name=none, allow_null=false) %}

select *
from {{ model }}
where not ({{ expression }})
{%- if not allow_null %}
    or ({{ expression }}) is null
{%- endif %}

{% endtest %}
