"""Write-audit-publish of the serving database that dashboards and notebooks read.

The refresh builds and tests in the working warehouse ($CRMW_HOME/warehouse/crm.duckdb). Publishing then
writes the published layers into a *new* file beside the serving database, audits the copy against the
working warehouse (same rows, same checksums), and only then renames it over
$CRMW_HOME/serving/crm.duckdb. A rename is atomic: a reader sees the old database or the new one, never a
mix, and a failed or killed publish leaves the old file untouched (its temporary file is removed by the
next publish).

DuckDB allows one writer or many readers of a file. Readers open the serving file read-only
(`connect_serving`); the refresh never opens that path for writing, so a reader holding it open never
blocks a refresh and is never blocked by one: it keeps reading the version it opened until it reconnects.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.settings import Settings
from orchestration.warehouses import DuckDBWarehouse

# Layers dashboards may read. Raw, staging, ODS and snapshots stay in the working warehouse.
PUBLISHED_SCHEMAS = ("warehouse", "marts")
# Bookkeeping published beside them: when and what was published, and deliveries per source system.
META_SCHEMA = "meta"
TMP_PREFIX = ".crm.duckdb."
TMP_SUFFIX = ".tmp"


class AuditError(RuntimeError):
    """The copy written for publishing does not match the working warehouse; nothing was published."""


@dataclass
class PublishReport:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    checksums: dict[str, str] = field(default_factory=dict)  # "schema.table" -> checksum of its rows
    data_through: dt.date | None = None
    bytes: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def list_tables(con: duckdb.DuckDBPyConnection, schemas: Iterable[str], catalog: str | None = None) -> list[str]:
    """`schema.table` of every table and view in the given schemas, sorted."""
    schemas = list(schemas)
    if not schemas:
        return []
    marks = ", ".join("?" for _ in schemas)
    rows = con.execute(
        f"select table_schema, table_name from information_schema.tables "
        f"where table_catalog = coalesce(?, current_database()) and table_schema in ({marks}) order by 1, 2",
        [catalog, *schemas],
    ).fetchall()
    return [f"{s}.{t}" for s, t in rows]


def table_checksum(
    con: duckdb.DuckDBPyConnection, table: str, exclude_columns: Iterable[str] = (), catalog: str | None = None
) -> tuple[int, str]:
    """(rows, checksum) of a table: the sum of a hash of every row, so row order does not matter.

    `exclude_columns` leaves out columns that legitimately differ between two equal builds (wall-clock
    stamps such as SCD2 validity times).
    """
    schema, name = table.split(".", 1)
    excluded = set(exclude_columns)
    columns = [
        c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = coalesce(?, current_database()) "
            "and table_schema = ? and table_name = ? order by ordinal_position",
            [catalog, schema, name],
        ).fetchall()
        if c not in excluded
    ]
    prefix = f"{_quote(catalog)}." if catalog else ""
    rows, checksum = con.execute(
        f"select count(*), coalesce(sum(hash({', '.join(map(_quote, columns))})), 0) "
        f"from {prefix}{_quote(schema)}.{_quote(name)}"
    ).fetchall()[0]
    return int(rows), str(checksum)


def table_checksums(
    con: duckdb.DuckDBPyConnection, schemas: Iterable[str] = PUBLISHED_SCHEMAS,
    exclude_columns: Iterable[str] = (), catalog: str | None = None,
) -> dict[str, tuple[int, str]]:
    """(rows, checksum) of every table in the given schemas."""
    excluded = tuple(exclude_columns)
    return {t: table_checksum(con, t, excluded, catalog) for t in list_tables(con, schemas, catalog)}


def connect_serving(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published database: how dashboards and notebooks should read it.

    The file is attached to a fresh in-memory database rather than opened with `duckdb.connect(path)`,
    which would share one cached instance per path within a process: every call sees the database
    published at that moment, while connections opened earlier keep the version they opened.
    """
    if not settings.serving_path.exists():
        raise FileNotFoundError(f"nothing published yet: {settings.serving_path} does not exist")
    con = duckdb.connect()
    try:
        con.execute("attach ? as crm (read_only)", [str(settings.serving_path)])
        con.execute("use crm")
    except BaseException:
        con.close()
        raise
    return con


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(serving_dir: Path) -> list[Path]:
    """Temporary files left by a publish that was killed; they are never read, so removing them is safe."""
    stale = sorted(
        p for p in serving_dir.glob(f"{TMP_PREFIX}*") if p.name.endswith((TMP_SUFFIX, TMP_SUFFIX + ".wal"))
    )
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _write_meta(con: duckdb.DuckDBPyConnection, run_id: str, range_start: dt.date | None,
                range_end: dt.date | None, published_at: dt.datetime) -> dt.date | None:
    con.execute(f"create schema {META_SCHEMA}")
    has_log = con.execute(
        "select count(*) from information_schema.tables where table_catalog = 'src' "
        "and table_schema = 'raw' and table_name = 'load_log'"
    ).fetchall()[0][0]
    if has_log:
        con.execute(
            f"""
            create table {META_SCHEMA}.deliveries as
            select source_system, entity, count(*) as files, min(_delivery_date) as first_delivery_date,
                   max(_delivery_date) as last_delivery_date, sum(rows_in_file) as rows_in_files,
                   sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined,
                   sum(dq_issues) as dq_issues
            from src.raw.load_log where is_current
            group by source_system, entity
            order by source_system, entity
            """
        )
    else:
        con.execute(
            f"create table {META_SCHEMA}.deliveries (source_system varchar, entity varchar, files bigint, "
            "first_delivery_date date, last_delivery_date date, rows_in_files hugeint, rows_loaded hugeint, "
            "rows_quarantined hugeint, dq_issues hugeint)"
        )
    data_through = con.execute(f"select max(last_delivery_date) from {META_SCHEMA}.deliveries").fetchall()[0][0]
    con.execute(
        f"create table {META_SCHEMA}.publish (run_id varchar, published_at timestamp, range_start date, "
        "range_end date, data_through date)"
    )
    con.execute(
        f"insert into {META_SCHEMA}.publish values (?, ?, ?, ?, ?)",
        [run_id, published_at, range_start, range_end, data_through],
    )
    return data_through


def publish(
    settings: Settings,
    run_id: str,
    range_start: dt.date | None = None,
    range_end: dt.date | None = None,
    schemas: Iterable[str] = PUBLISHED_SCHEMAS,
    progress=None,
) -> PublishReport:
    """Copy the published layers of the working warehouse into a new file, audit it, rename it into place."""
    started = time.perf_counter()
    say = progress or (lambda done, total, note: None)
    target = settings.serving_path
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent)
    tmp = target.with_name(f"{TMP_PREFIX}{run_id}{TMP_SUFFIX}")
    report = PublishReport(path=target)
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        # Under the warehouse's memory limit: with DuckDB's default (80% of memory) copying the 1M demo's
        # 206M rows peaked at 21 GB.
        with DuckDBWarehouse(tmp, settings.warehouse.memory_limit).connect() as con:
            con.execute("attach ? as src (read_only)", [str(settings.warehouse_path)])
            tables = list_tables(con, schemas, catalog="src")
            if not tables:
                raise AuditError(f"nothing to publish: no tables in {', '.join(schemas)} of {settings.warehouse_path}")
            say(0, len(tables) + 1, "copying")
            for i, table in enumerate(tables, start=1):
                schema, name = table.split(".", 1)
                con.execute(f"create schema if not exists {_quote(schema)}")
                con.execute(
                    f"create table {_quote(schema)}.{_quote(name)} as "
                    f"select * from src.{_quote(schema)}.{_quote(name)}"
                )
                say(i, len(tables) + 1, table)
            report.data_through = _write_meta(con, run_id, range_start, range_end, published_at)
            # Audit: the copy must hold exactly what the working warehouse holds.
            for table in tables:
                source = table_checksum(con, table, catalog="src")
                copy = table_checksum(con, table)
                if source != copy:
                    raise AuditError(f"{table}: working warehouse has {source}, the copy {copy}; nothing published")
                report.tables[table], report.checksums[table] = copy
            con.execute("detach src")
            con.execute("checkpoint")
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    report.bytes = target.stat().st_size
    report.seconds = time.perf_counter() - started
    say(len(report.tables) + 1, len(report.tables) + 1, f"{report.rows:,} rows published")
    return report
