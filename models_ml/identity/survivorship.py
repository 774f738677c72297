"""Survivorship: the golden record of each customer, attribute group by attribute group.

For every group of attributes that belong together (a name, an address), one of the customer's source
records wins and gives all of the group's values, by a configurable rule:

- `most_recent`: the record updated last (then delivered last);
- `most_complete`: the record with the most of the group's fields filled in (then the longest text,
  then the most recent);
- `source_priority`: the record from the system earliest in the priority list (unlisted systems after
  the listed ones), then the most recent.

Only records holding some value of the group compete, so a missing email never beats a present one. The
result is one DuckDB query over all customers (no Python per customer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "date_of_birth": ("date_of_birth",),
    "gender": ("gender",),
    "email": ("email",),
    "phone": ("phone",),
    "national_id": ("national_id",),
    "address": ("address_line1", "address_line2", "city", "postcode", "region", "country"),
}
RULES = ("most_recent", "most_complete", "source_priority")
DEFAULT_RULES: dict[str, str] = {
    "name": "most_complete",
    "date_of_birth": "source_priority",
    "gender": "source_priority",
    "email": "most_recent",
    "phone": "most_recent",
    "national_id": "source_priority",
    "address": "most_recent",
}


def validate_rules(rules: Mapping[str, str]) -> dict[str, str]:
    """The rules with defaults filled in; unknown groups or rules are errors naming them."""
    unknown = sorted(set(rules) - set(GROUPS))
    if unknown:
        raise ValueError(f"unknown survivorship attribute groups {unknown}; known: {', '.join(GROUPS)}")
    bad = {g: r for g, r in rules.items() if r not in RULES}
    if bad:
        raise ValueError(f"unknown survivorship rules {bad}; known: {', '.join(RULES)}")
    return {**DEFAULT_RULES, **rules}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _order(group: str, rule: str, source_priority: Sequence[str]) -> str:
    recent = "updated_at desc nulls last, _delivery_date desc nulls last, customer_source_key"
    if rule == "most_recent":
        return recent
    if rule == "most_complete":
        filled = " + ".join(f"(case when {c} is null then 0 else 1 end)" for c in GROUPS[group])
        length = " + ".join(f"coalesce(length(cast({c} as varchar)), 0)" for c in GROUPS[group])
        return f"({filled}) desc, ({length}) desc, {recent}"
    ranks = " ".join(f"when {_quote(s)} then {i}" for i, s in enumerate(source_priority))
    position = f"case source_system {ranks} else {len(source_priority)} end" if source_priority else "0"
    return f"{position}, {recent}"


def golden_records_sql(
    records: str, xref: str, rules: Mapping[str, str], source_priority: Sequence[str] = ()
) -> str:
    """SQL for one golden row per customer_key from `records` (customer_source_key, source_system,
    customer_id, the attribute columns, updated_at, created_at, _delivery_date and the flags
    has_sentinel_birth_date, has_invalid_email) and `xref` (customer_source_key, customer_key).

    Columns: customer_key, the primary record (the customer's first record: source_system,
    source_customer_id, customer_source_key), every attribute, `<group>_source` (the customer_source_key
    each group came from), record_count, source_system_count, created_at, updated_at and the flags."""
    rules = validate_rules(rules)
    ctes = [f"""members as (
    select x.customer_key, r.*
    from {records} as r inner join {xref} as x on r.customer_source_key = x.customer_source_key
)""", """summary as (
    select
        customer_key,
        arg_min(customer_source_key, struct_pack(c := created_at, d := _delivery_date, k := customer_source_key))
            as customer_source_key,
        count(*) as record_count,
        count(distinct source_system) as source_system_count,
        min(created_at) as created_at,
        max(updated_at) as updated_at,
        bool_or(coalesce(has_sentinel_birth_date, false)) as has_sentinel_birth_date,
        bool_or(coalesce(has_invalid_email, false)) as has_invalid_email
    from members
    group by customer_key
)"""]
    joins, selects = [], []
    for group, columns in GROUPS.items():
        present = " or ".join(f"{c} is not null" for c in columns)
        order = _order(group, rules[group], source_priority)
        ctes.append(f"""g_{group} as (
    select customer_key, customer_source_key as {group}_source, {", ".join(columns)}
    from (
        select *, row_number() over (partition by customer_key order by {order}) as survivor_rank
        from members where {present}
    ) as ranked
    where survivor_rank = 1
)""")
        joins.append(f"left join g_{group} on g_{group}.customer_key = s.customer_key")
        selects.extend(f"g_{group}.{c}" for c in columns)
        selects.append(f"g_{group}.{group}_source")
    cte_sql = ",\n".join(ctes)
    select_sql = ",\n    ".join(selects)
    join_sql = "\n".join(joins)
    return f"""
with
{cte_sql}
select
    s.customer_key,
    p.source_system,
    p.customer_id as source_customer_id,
    s.customer_source_key,
    {select_sql},
    s.record_count,
    s.source_system_count,
    s.created_at,
    s.updated_at,
    s.has_sentinel_birth_date,
    s.has_invalid_email
from summary as s
inner join members as p on p.customer_source_key = s.customer_source_key
{join_sql}
"""
