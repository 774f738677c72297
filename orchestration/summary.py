"""The short report printed after a build: rows per layer, data-quality counts, time taken."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

# dbt schemas are named after the layer folders (see dbt_project.yml); raw is written by the loader.
LAYER_ORDER = ("raw", "staging", "ods", "snapshots", "warehouse", "marts")
_BOOKKEEPING = ("quarantine", "dq_issues", "load_log", "rejected_files")


@dataclass
class Summary:
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # layer -> table -> rows
    quality: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _layer(schema: str) -> str:
    # dbt-duckdb names custom schemas <target schema>_<layer>, e.g. main_ods.
    return next((layer for layer in LAYER_ORDER if schema == layer or schema.endswith("_" + layer)), schema)


def collect(con: duckdb.DuckDBPyConnection) -> Summary:
    summary = Summary()
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog') "
        "order by 1, 2"
    ).fetchall()
    for schema, name in tables:
        if (schema == "raw" and name in _BOOKKEEPING) or name.startswith("int_"):
            continue  # bookkeeping is reported under data quality; int_ views repeat their ODS table
        count = con.execute(f'select count(*) from "{schema}"."{name}"').fetchall()[0][0]
        summary.rows.setdefault(_layer(schema), {})[name] = count
    existing = {(s, n) for s, n in tables}
    if ("raw", "load_log") in existing:
        (files, in_file, loaded, quarantined), = con.execute(
            "select count(*), sum(rows_in_file), sum(rows_loaded), sum(rows_quarantined) "
            "from raw.load_log where is_current"
        ).fetchall()
        summary.quality.update(
            files_loaded=files, rows_in_files=in_file or 0, rows_loaded=loaded or 0,
            rows_quarantined=quarantined or 0,
            rejected_files=con.execute("select count(distinct _file) from raw.rejected_files").fetchall()[0][0],
            unparsable_optional_values=con.execute(
                "select count(*) from raw.dq_issues where issue like 'unparsable%'"
            ).fetchall()[0][0],
        )
    # Data-quality flags the models compute (present once the dbt layers are built).
    checks = {
        "sentinel_birth_dates": ("ods_customers", "has_sentinel_birth_date"),
        "invalid_emails": ("ods_customers", "has_invalid_email"),
        "id_only_customers": ("ods_customers", "is_id_only"),
        "future_dated_transactions": ("fct_transactions", "is_future_dated"),
        "negative_amount_transactions": ("fct_transactions", "is_negative_amount"),
    }
    columns = set(
        con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database()"
        ).fetchall()
    )
    for label, (table, column) in checks.items():
        match = next(((s, t) for s, t, c in columns if t == table and c == column), None)
        if match:
            summary.quality[label] = con.execute(
                f'select count(*) from "{match[0]}"."{match[1]}" where {column}'
            ).fetchall()[0][0]
    return summary


def render(summary: Summary) -> str:
    lines = ["", "Rows per layer"]
    for layer in sorted(summary.rows, key=lambda x: (LAYER_ORDER.index(x) if x in LAYER_ORDER else 99, x)):
        tables = summary.rows[layer]
        lines.append(f"  {layer:<10} {sum(tables.values()):>12,} rows in {len(tables)} tables")
        lines.extend(f"    {name:<38} {rows:>12,}" for name, rows in tables.items())
    if summary.quality:
        lines += ["", "Data quality"]
        lines.extend(f"  {label.replace('_', ' '):<40} {value:>12,}" for label, value in summary.quality.items())
    if summary.timings:
        lines += ["", "Time taken"]
        lines.extend(f"  {stage:<40} {secs:>11.1f}s" for stage, secs in summary.timings.items())
        lines.append(f"  {'total':<40} {sum(summary.timings.values()):>11.1f}s")
    return "\n".join(lines)
