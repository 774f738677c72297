"""DDL of the raw layer: one table per landing entity (all source systems together), plus the
bookkeeping tables every load writes: quarantine, data-quality issues, load log and rejected files.

Raw tables are typed per the contract; optional columns a file omitted are null. dbt reads them as
the `landing` source.
"""

from __future__ import annotations

import duckdb

from orchestration.landing.contract import ENTITIES, LINEAGE_COLUMNS

RAW_SCHEMA = "raw"

BOOKKEEPING_DDL = {
    # A row that could not be loaded: the file, its line, why, and the row as it was.
    "quarantine": """
        source_system VARCHAR NOT NULL, entity VARCHAR NOT NULL, _delivery_date DATE NOT NULL,
        _file VARCHAR NOT NULL, _line BIGINT, reason VARCHAR NOT NULL, record VARCHAR,
        _loaded_at TIMESTAMP NOT NULL
    """,
    # A value that was loaded as null (unparsable optional value): no row is lost to it.
    "dq_issues": """
        source_system VARCHAR NOT NULL, entity VARCHAR NOT NULL, _delivery_date DATE NOT NULL,
        _file VARCHAR NOT NULL, _line BIGINT, column_name VARCHAR NOT NULL, value VARCHAR,
        issue VARCHAR NOT NULL, _loaded_at TIMESTAMP NOT NULL
    """,
    # One row per file version loaded; rows_in_file = rows_loaded + rows_quarantined always.
    "load_log": """
        _file VARCHAR NOT NULL, source_system VARCHAR NOT NULL, entity VARCHAR NOT NULL,
        _delivery_date DATE NOT NULL, file_sha256 VARCHAR NOT NULL, rows_in_file BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, dq_issues BIGINT NOT NULL,
        _loaded_at TIMESTAMP NOT NULL, is_current BOOLEAN NOT NULL
    """,
    # Files refused whole (missing required column, unreadable, misnamed): nothing of them loaded.
    "rejected_files": """
        _file VARCHAR NOT NULL, file_sha256 VARCHAR, reason VARCHAR NOT NULL, _rejected_at TIMESTAMP NOT NULL
    """,
}


def raw_table_ddl(entity_name: str) -> str:
    entity = ENTITIES[entity_name]
    cols = [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    cols += [f"{c.name} {c.sql_type}" for c in entity.columns]
    return ",\n        ".join(cols)


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables if they do not exist yet (idempotent)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for name in ENTITIES:
        con.execute(f"create table if not exists {RAW_SCHEMA}.{name} (\n        {raw_table_ddl(name)}\n)")
    for name, ddl in BOOKKEEPING_DDL.items():
        con.execute(f"create table if not exists {RAW_SCHEMA}.{name} ({ddl})")
