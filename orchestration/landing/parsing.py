"""SQL that turns a landed text value into its contract type, or null when it cannot.

Every landed value arrives as text (CSV) or is rendered as text (Parquet), so one set of parsers
serves both formats. A parser returns null for an unparsable value; the loader then compares with
the input to tell "missing" from "unparsable".
"""

from __future__ import annotations

_TRUE = "('true', 't', 'yes', 'y', '1')"
_FALSE = "('false', 'f', 'no', 'n', '0')"


def parse_expr(value_sql: str, logical_type: str) -> str:
    """A DuckDB expression parsing the text `value_sql` into `logical_type` (null if unparsable)."""
    if logical_type == "string":
        return value_sql  # kept byte-exact: names in any script, noise and all, reach staging untouched
    v = f"trim({value_sql})"
    if logical_type == "date":
        # ISO 8601 day; a timestamp in a date column is accepted for its day.
        return f"coalesce(try_cast({v} as date), try_cast(try_cast({v} as timestamp) as date))"
    if logical_type == "timestamp":
        # Naive ISO timestamps as they are; values with a UTC offset are converted to UTC.
        return (
            f"coalesce(try_cast({v} as timestamp), "
            f"try_cast(timezone('UTC', try_cast({v} as timestamptz)) as timestamp))"
        )
    if logical_type == "money":
        return f"try_cast({v} as decimal(18,2))"
    if logical_type == "number":
        return f"try_cast({v} as double)"
    if logical_type == "integer":
        return f"try_cast({v} as integer)"
    if logical_type == "boolean":
        return f"case when lower({v}) in {_TRUE} then true when lower({v}) in {_FALSE} then false end"
    raise ValueError(f"unknown logical type {logical_type!r}")


def clean_text_expr(column_sql: str) -> str:
    """The value as text; an empty or blank value is a missing value."""
    return f"case when trim(cast({column_sql} as varchar)) = '' then null else cast({column_sql} as varchar) end"
