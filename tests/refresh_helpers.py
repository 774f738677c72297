"""Shared by the refresh end-to-end tests: run `.venv/bin/crmw` as a user would (no activated venv),
and count what the warehouse must hold straight from the landing files."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from orchestration.landing.contract import ENTITIES

CRMW = str(Path(sys.executable).with_name("crmw"))

# Warehouse table -> landing entity it has one row per (source system, natural key) of.
FACTS = {
    "fct_transactions": "transactions",
    "fct_interactions": "interactions",
    "fct_holdings": "accounts",
    "fct_campaign_contacts": "campaign_contacts",
    "dim_campaign": "campaigns",
}


def crmw_env(home: Path) -> dict[str, str]:
    """The environment of a user who runs .venv/bin/crmw without activating the venv."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "VIRTUAL_ENV", "CRMW_CONFIG", "DAGSTER_HOME", "CRMW_DAGSTER_STORAGE", "PYTHONPATH", "CRMW_WAREHOUSE_PATH")}
    env.update(CRMW_HOME=str(home), PATH="/usr/bin:/bin")
    return env


def isolate_dagster_env(mp) -> None:
    """Make sure the variables `get_instance` and the dbt asset export for a home are undone afterwards."""
    for name in ("DAGSTER_HOME", "CRMW_DAGSTER_STORAGE", "CRMW_CONFIG", "CRMW_WAREHOUSE_PATH", "CRMW_DBT_THREADS",
                 "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"):
        mp.setenv(name, "")  # records the original value (or its absence) for the undo
        mp.delenv(name)
    mp.setenv("PATH", os.environ.get("PATH", ""))


def crmw(home: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CRMW, *args], env=crmw_env(home), capture_output=True, text=True, timeout=timeout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def landing_files(landing: Path, last_day: dt.date | None = None) -> list[Path]:
    return sorted(
        p for p in landing.rglob("*.*")
        if p.is_file() and (last_day is None or dt.date.fromisoformat(p.stem) <= last_day)
    )


def _records(path: Path):
    """(line, row as dict) of every record of a landing file; CSV lines are physical lines (header = 1),
    Parquet "lines" are 1-based row numbers, as the loader and the demo truth number them."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        names = [n.strip().lower() for n in table.column_names]
        for i, row in enumerate(table.to_pylist(), start=1):
            yield i, {n: ("" if v is None else str(v)) for n, v in zip(names, row.values(), strict=True)}
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [n.strip().lower() for n in next(reader)]
        for row in reader:
            if row:
                yield reader.line_num, (dict(zip(header, row, strict=True)) if len(row) == len(header) else None)


def planted_quarantine(truth_dir: Path) -> set[tuple[str, int]]:
    """(file, line) of every row the demo bank planted a defect in that must send it to quarantine."""
    defects = pq.read_table(truth_dir / "defects.parquet").to_pylist()
    return {(d["file"], int(d["line"])) for d in defects if d["causes_quarantine"]}


def expected_counts(landing: Path, truth_dir: Path, last_day: dt.date | None = None) -> dict[str, int]:
    """Rows each warehouse table must have for the landing files delivered up to `last_day`, counted from
    the files and the demo's planted truth: distinct (source system, natural key) over the rows that are
    not planted to be quarantined, and every customer id seen in them (a customer known only from its
    events is a customer too), each a row of dim_customer_xref."""
    quarantined = planted_quarantine(truth_dir)
    keys: dict[str, set] = {entity: set() for entity in ENTITIES}
    customers: set = set()
    for path in landing_files(landing, last_day):
        system, entity = path.parts[-3], path.parts[-2]
        rel = path.relative_to(landing).as_posix()
        key = ENTITIES[entity].key
        for line, row in _records(path):
            if (rel, line) in quarantined:
                continue
            assert row is not None, f"{rel}:{line} is malformed but not planted as a quarantined defect"
            keys[entity].add((system, *(row[k].strip() for k in key)))
            if row.get("customer_id", "").strip():
                customers.add((system, row["customer_id"].strip()))
    counts = {table: len(keys[entity]) for table, entity in FACTS.items()}
    counts["dim_customer_xref"] = len(customers)
    return counts


def published_counts(con) -> dict[str, int]:
    out = {t: con.execute(f"select count(*) from warehouse.{t}").fetchall()[0][0] for t in FACTS}
    out["dim_customer_xref"] = con.execute("select count(*) from warehouse.dim_customer_xref").fetchall()[0][0]
    # Identity resolution decides how many customers those ids are: one current version for each.
    current, keys = con.execute(
        "select (select count(*) from warehouse.dim_customer where is_current), "
        "(select count(distinct customer_key) from warehouse.dim_customer_xref)").fetchall()[0]
    assert 0 < current == keys <= out["dim_customer_xref"], (current, keys, out["dim_customer_xref"])
    return out
