"""dbt models on a tiny hand-made raw layer: exact row counts, flags, revenue and SCD2 history.

Tier "pure data, exact values": a DuckDB file in tmp_path gets the raw DDL and a few rows per entity
from three source systems (a re-delivered customer, a duplicated transaction, a lone 1911-11-11 birth
date, an invalid email, id-only customers, unknown product/channel/campaign codes, one person in two systems),
then the build runs as `crmw build` runs it (dbt up to the conformed customer records, identity resolution,
the rest of dbt); a second delivery and a second build add SCD2 versions.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.assets.dbt import UPSTREAM_SELECT
from orchestration.identity import resolve_warehouse
from orchestration.landing.raw_tables import RAW_SCHEMA, create_raw_tables
from orchestration.settings import IdentitySettings

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO / "dbt_project"

D0, D1, D2 = dt.date(2025, 1, 9), dt.date(2025, 1, 10), dt.date(2025, 1, 11)


def run_dbt(args: list[str], warehouse_path: Path, work_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run the venv's dbt on dbt_project/ against the DuckDB file at `warehouse_path`.

    Target and log folders go under `work_dir`, so nothing is written into the repository.
    """
    venv_dbt = Path(sys.executable).parent / "dbt"
    dbt = str(venv_dbt) if venv_dbt.exists() else (shutil.which("dbt") or "dbt")
    env = {
        **os.environ,
        "CRMW_WAREHOUSE_PATH": str(warehouse_path),
        "DBT_TARGET_PATH": str(work_dir / "target"),
        "DBT_LOG_PATH": str(work_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [dbt, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


# ------------------------------------------------------------------ raw rows
def table(columns: str, *rows: tuple) -> list[dict]:
    """Rows of one landing file as dicts; a None value is a column the row leaves empty."""
    names = columns.split()
    return [{k: v for k, v in zip(names, row, strict=True) if v is not None} for row in rows]


# (source_system, delivery day, entity) -> rows in file order; _line counts from 2 (line 1 is the header).
DAY_1: dict[tuple[str, dt.date, str], list[dict]] = {
    ("core", D0, "customers"): table(
        "customer_id first_name last_name email updated_at",
        ("C3", "Carol", "King", "carol@old.example", "2024-12-01 00:00:00"),
    ),
    ("core", D1, "customers"): table(
        "customer_id first_name last_name date_of_birth gender email address_line1 postcode updated_at",
        ("C1", "Anna", "Smith", "1980-05-01", "F", "anna@example.com", "1 High St", "sw1a 1aa", "2025-01-01"),
        # An invalid email; one customer on 1911-11-11 is too few to call the date a placeholder (sentinels
        # are detected from value frequencies: tests/test_data_quality.py).
        ("C2", "Bob", "Jones", "1911-11-11", "male", "bob at example", None, None, "2025-01-01"),
        # Re-delivered: day 1 beats day 0.
        ("C3", "Carol", "King", None, None, "carol@new.example", None, None, "2024-12-20"),
    ),
    ("cards", D1, "customers"): table(
        "customer_id first_name last_name date_of_birth gender email",
        ("K1", "Anna", "Smith", "1980-05-01", " f ", " Anna@Example.COM "),
    ),
    ("core", D1, "accounts"): table(
        "account_id customer_id product_id opened_at closed_at status balance",
        ("A1", "C1", "CUR", "2020-01-15 00:00:00", None, "open", "100.00"),
        ("A2", "C2", "MTG", "2021-06-01 00:00:00", "2024-12-31 00:00:00", "Closed", "0.00"),
    ),
    ("cards", D1, "accounts"): table(
        "account_id customer_id product_id opened_at status balance",
        # Same account id as in core: ids are only unique within a source system.
        ("A1", "K1", "cc", "2022-03-01 00:00:00", "open", "-250.00"),
    ),
    ("core", D1, "transactions"): table(
        "transaction_id customer_id occurred_at amount cost account_id product_id channel transaction_type",
        ("T1", "C1", "2025-01-05 10:00:00", "10.00", "1.00", "A1", "CUR", "online", "fee"),
        # No product: takes its account's (CUR). Duplicated on the next line.
        ("T2", "C1", "2025-01-06 09:30:00", "5.50", None, "A1", None, " Branch ", "fee"),
        ("T2", "C1", "2025-01-06 09:30:00", "5.50", None, "A1", None, " Branch ", "fee"),
        # C9 is in no customers file (an id-only customer); GOLD is not in seeds/products.csv.
        ("T3", "C9", "2025-01-07 12:00:00", "20.00", None, None, "GOLD", "mobile_app", None),
    ),
    ("cards", D1, "transactions"): table(
        "transaction_id customer_id occurred_at amount product_id channel transaction_type",
        ("T1", "K1", "2025-01-08 18:00:00", "-2.00", "CC", "pos", "interchange"),
        # Dated after its delivery day; kiosk is not in seeds/channels.csv.
        ("T2", "K1", "2025-01-20 08:00:00", "3.00", "CC", "kiosk", None),
    ),
    ("core", D1, "interactions"): table(
        "interaction_id customer_id occurred_at channel interaction_type duration_minutes",
        ("I1", "C1", "2025-01-03 11:00:00", "branch", "branch_visit", 20.0),
        # No duration: the call's standard 8 minutes from seeds/interaction_types.csv.
        ("I2", "C2", "2025-01-04 15:00:00", "call_centre", "call", None),
    ),
    ("cards", D1, "interactions"): table(
        "interaction_id customer_id occurred_at channel interaction_type duration_minutes satisfaction_score",
        ("I1", "K1", "2025-01-05 07:00:00", "mobile_app", "app_session", 2.5, 5),
    ),
    ("crm", D1, "campaigns"): table(
        "campaign_id name channel start_date end_date cost_per_contact offer",
        ("CP1", "Spring savings", "email", "2024-12-01", "2024-12-31", "0.50", "bonus rate"),
    ),
    ("crm", D1, "campaign_contacts"): table(
        "campaign_id customer_id contacted_at is_control responded_at response_value",
        ("CP1", "M1", "2024-12-02 09:00:00", False, "2024-12-05 10:00:00", "100.00"),
        ("CP1", "M2", "2024-12-02 09:00:00", True, None, None),
        # CP2 was never delivered in a campaigns file.
        ("CP2", "M1", "2024-12-15 09:00:00", None, None, None),
    ),
    ("mosaic", D1, "geodemographics"): table(
        "postcode geo_segment latitude longitude",
        ("SW1A 1AA", "Urban elite", 51.501, -0.142),
        ("e1 6an", "City living", 51.52, -0.072),
    ),
}

DAY_2: dict[tuple[str, dt.date, str], list[dict]] = {
    ("core", D2, "customers"): table(
        "customer_id first_name last_name date_of_birth gender email address_line1 postcode updated_at",
        # C1 moved: a new SCD2 version.
        ("C1", "Anna", "Smith", "1980-05-01", "F", "anna@example.com", "2 Low Rd", "E1 6AN", "2025-01-11"),
        # C2 re-delivered unchanged: no new version.
        ("C2", "Bob", "Jones", "1911-11-11", "male", "bob at example", None, None, "2025-01-01"),
        # C9, id-only so far, arrives in full: a new version.
        ("C9", "Dan", "Brown", None, "M", "dan@example.org", None, None, None),
    ),
    ("core", D2, "transactions"): table(
        "transaction_id customer_id occurred_at amount cost account_id product_id channel transaction_type",
        ("T4", "C1", "2025-01-10 16:00:00", "7.25", None, "A1", None, "online", None),
        # T1 re-delivered with a corrected amount: the later delivery wins.
        ("T1", "C1", "2025-01-05 10:00:00", "12.00", "1.00", "A1", "CUR", "online", "fee"),
    ),
}


def load_raw(con: duckdb.DuckDBPyConnection, deliveries: dict[tuple[str, dt.date, str], list[dict]]) -> None:
    """Insert rows as the loader would, with lineage: one file per (system, entity, day)."""
    for (system, day, entity), rows in deliveries.items():
        file = f"landing/{system}/{entity}/{day.isoformat()}.csv"
        loaded_at = dt.datetime.combine(day, dt.time(6, 0))
        for line, row in enumerate(rows, start=2):
            values = {
                "source_system": system,
                "_delivery_date": day,
                "_file": file,
                "_line": line,
                "_loaded_at": loaded_at,
                **row,
            }
            columns = ", ".join(values)
            placeholders = ", ".join("?" for _ in values)
            con.execute(f"insert into {RAW_SCHEMA}.{entity} ({columns}) values ({placeholders})", list(values.values()))


def build(warehouse_path: Path, work_dir: Path) -> None:
    """What `crmw build` does: dbt's first part, identity resolution, dbt's second part."""
    result = run_dbt(["build", "--select", UPSTREAM_SELECT, "--indirect-selection", "buildable"], warehouse_path,
                     work_dir)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    resolve_warehouse(warehouse_path, IdentitySettings())
    result = run_dbt(["build", "--exclude", UPSTREAM_SELECT, "--indirect-selection", "buildable"], warehouse_path,
                     work_dir)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build on day 1, keep a copy of that warehouse, then deliver day 2 and build again."""
    work = tmp_path_factory.mktemp("dbt")
    db = work / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        create_raw_tables(con)
        load_raw(con, DAY_1)
    build(db, work)
    day_1 = work / "crm_day1.duckdb"
    shutil.copyfile(db, day_1)

    with duckdb.connect(str(db)) as con:
        load_raw(con, DAY_2)
    build(db, work)
    return {"day_1": day_1, "day_2": db}


def query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def count(path: Path, relation: str) -> int:
    return query(path, f"select count(*) from {relation}")[0][0]


DAY_1_COUNTS = {
    "staging.stg_landing__customers": 5,
    "staging.stg_landing__transactions": 6,
    "ods.int_customers_deduplicated": 4,
    # 4 records from customers files (cards|K1 and core|C1 are one person: one customer) + id-only core|C9,
    # crm|M1, crm|M2.
    "ods.ods_customers": 6,
    "ods.ods_customer_xref": 7,
    "ods.int_customers_conformed": 7,
    "ods.ods_accounts": 3,
    "ods.ods_transactions": 5,  # the duplicated core|T2 counts once
    "ods.ods_interactions": 3,
    "ods.ods_campaigns": 1,
    "ods.ods_campaign_contacts": 3,
    "ods.ods_geodemographics": 2,
    "snapshots.customers_snapshot": 6,
    "warehouse.dim_customer": 6,
    "warehouse.dim_product": 9,  # 8 seeded + GOLD
    "warehouse.dim_channel": 9,  # 8 seeded + kiosk
    "warehouse.dim_campaign": 2,  # CP1 + never-delivered CP2
    # 2020-01-15 (first account opened) .. 2025-01-20 (last transaction), widened to whole months.
    "warehouse.dim_date": (dt.date(2025, 1, 31) - dt.date(2020, 1, 1)).days + 1,
    "warehouse.fct_transactions": 5,
    "warehouse.fct_interactions": 3,
    "warehouse.fct_holdings": 3,
    "warehouse.fct_campaign_contacts": 3,
}


@pytest.mark.parametrize(("relation", "expected"), DAY_1_COUNTS.items())
def test_day_1_row_counts(warehouse: dict[str, Path], relation: str, expected: int) -> None:
    assert count(warehouse["day_1"], relation) == expected


def test_day_1_customers_are_conformed_and_flagged(warehouse: dict[str, Path]) -> None:
    rows = query(
        warehouse["day_1"],
        """
        select source_system, source_customer_id, date_of_birth, gender, email, postcode,
               has_sentinel_birth_date, has_invalid_email, is_id_only, record_count, source_system_count
        from ods.ods_customers order by source_system, source_customer_id
        """,
    )
    # Anna is cards|K1 (no address) and core|C1 (with one): one golden record, named after its first
    # record (cards|K1 sorts first of two delivered together), the address from core|C1.
    assert rows == [
        ("cards", "K1", dt.date(1980, 5, 1), "F", "anna@example.com", "SW1A 1AA", False, False, False, 2, 2),
        # A lone 1911-11-11 is too rare for the frequency rule to call it a placeholder: it stays.
        ("core", "C2", dt.date(1911, 11, 11), "M", None, None, False, True, False, 1, 1),
        ("core", "C3", None, "U", "carol@new.example", None, False, False, False, 1, 1),
        ("core", "C9", None, "U", None, None, False, False, True, 1, 1),
        ("crm", "M1", None, "U", None, None, False, False, True, 1, 1),
        ("crm", "M2", None, "U", None, None, False, False, True, 1, 1),
    ]


def test_day_1_xref_links_one_person_across_systems_and_leaves_the_rest_single(
    warehouse: dict[str, Path],
) -> None:
    rows = query(
        warehouse["day_1"],
        """
        select x.customer_source_key, x.customer_key = md5('cards|K1'), x.match_probability > 0.99,
               x.customer_key = md5(x.customer_source_key), x.match_probability = 1.0
        from ods.ods_customer_xref as x order by 1
        """,
    )
    assert rows == [
        ("cards|K1", True, True, True, False),
        ("core|C1", True, True, False, False),  # joined Anna's key, made for her first record
        ("core|C2", False, True, True, True),
        ("core|C3", False, True, True, True),
        ("core|C9", False, True, True, True),
        ("crm|M1", False, True, True, True),
        ("crm|M2", False, True, True, True),
    ]


def test_day_1_transactions(warehouse: dict[str, Path]) -> None:
    rows = query(
        warehouse["day_1"],
        """
        select source_system, transaction_id, amount, product_id, channel_id, is_future_dated, is_negative_amount
        from warehouse.fct_transactions order by source_system, transaction_id
        """,
    )
    assert rows == [
        ("cards", "T1", Decimal("-2.00"), "CC", "pos", False, True),
        ("cards", "T2", Decimal("3.00"), "CC", "kiosk", True, False),
        ("core", "T1", Decimal("10.00"), "CUR", "online", False, False),
        ("core", "T2", Decimal("5.50"), "CUR", "branch", False, False),  # product from account A1
        ("core", "T3", Decimal("20.00"), "GOLD", "mobile_app", False, False),
    ]
    assert query(warehouse["day_1"], "select sum(amount) from warehouse.fct_transactions") == [(Decimal("36.50"),)]
    # The id-only customer's transaction reaches a customer in the dimension.
    assert query(
        warehouse["day_1"],
        """
        select c.source_system, c.source_customer_id, c.is_id_only
        from warehouse.fct_transactions as t
        inner join warehouse.dim_customer as c on t.customer_key = c.customer_key and c.is_current
        where t.transaction_id = 'T3'
        """,
    ) == [("core", "C9", True)]


def test_day_1_unknown_codes_are_flagged(warehouse: dict[str, Path]) -> None:
    path = warehouse["day_1"]
    assert query(path, "select product_id, product_category from warehouse.dim_product where is_unknown_product") == [
        ("GOLD", "unknown")
    ]
    assert query(path, "select channel_id from warehouse.dim_channel where is_unknown_channel") == [("kiosk",)]
    assert query(path, "select source_system, campaign_id from warehouse.dim_campaign where is_unknown_campaign") == [
        ("crm", "CP2")
    ]


def test_day_1_interactions_holdings_and_contacts(warehouse: dict[str, Path]) -> None:
    path = warehouse["day_1"]
    assert query(
        path,
        """
        select source_system, interaction_id, duration_minutes, is_duration_imputed
        from warehouse.fct_interactions order by source_system, interaction_id
        """,
    ) == [("cards", "I1", 2.5, False), ("core", "I1", 20.0, False), ("core", "I2", 8.0, True)]
    assert query(
        path,
        """
        select source_system, account_id, product_id, status, is_open, balance
        from warehouse.fct_holdings order by source_system, account_id
        """,
    ) == [
        ("cards", "A1", "CC", "open", True, Decimal("-250.00")),
        ("core", "A1", "CUR", "open", True, Decimal("100.00")),
        ("core", "A2", "MTG", "closed", False, Decimal("0.00")),
    ]
    assert query(
        path,
        """
        select campaign_id, is_control, has_responded, response_value
        from warehouse.fct_campaign_contacts order by campaign_id, contacted_at, is_control
        """,
    ) == [("CP1", False, True, Decimal("100.00")), ("CP1", True, False, None), ("CP2", False, False, None)]


def test_day_1_dim_date(warehouse: dict[str, Path]) -> None:
    assert query(
        warehouse["day_1"],
        """
        select min(date_day), max(date_day), sum(case when is_month_end then 1 else 0 end)
        from warehouse.dim_date
        """,
    ) == [(dt.date(2020, 1, 1), dt.date(2025, 1, 31), 61)]
    # 2025-01-06 is a Monday; 2024-02-29 ends a leap-year February.
    assert query(
        warehouse["day_1"],
        """
        select date_day, year, quarter, month, month_start, day_of_week, is_weekend, is_month_end
        from warehouse.dim_date where date_day in ('2025-01-06', '2025-01-12', '2024-02-29') order by date_day
        """,
    ) == [
        (dt.date(2024, 2, 29), 2024, 1, 2, dt.date(2024, 2, 1), 4, False, True),
        (dt.date(2025, 1, 6), 2025, 1, 1, dt.date(2025, 1, 1), 1, False, False),
        (dt.date(2025, 1, 12), 2025, 1, 1, dt.date(2025, 1, 1), 7, True, False),
    ]


DAY_2_COUNTS = {
    "staging.stg_landing__customers": 8,
    "ods.ods_customers": 6,
    "ods.ods_transactions": 6,
    "snapshots.customers_snapshot": 8,
    "warehouse.dim_customer": 8,  # Anna (core|C1) moved and core|C9 arrived in full: one new version each
    "warehouse.fct_transactions": 6,
}


@pytest.mark.parametrize(("relation", "expected"), DAY_2_COUNTS.items())
def test_day_2_row_counts(warehouse: dict[str, Path], relation: str, expected: int) -> None:
    assert count(warehouse["day_2"], relation) == expected


def test_day_2_scd2_versions(warehouse: dict[str, Path]) -> None:
    rows = query(
        warehouse["day_2"],
        """
        select source_customer_id, address_line1, first_name, is_id_only, is_current,
               valid_to = timestamp '9999-12-31 00:00:00' as is_open_ended
        from warehouse.dim_customer
        where source_customer_id in ('K1', 'C2', 'C9')
        order by source_customer_id, valid_from
        """,
    )
    assert rows == [
        ("C2", None, "Bob", False, True, True),
        ("C9", None, None, True, False, False),
        ("C9", None, "Dan", False, True, True),
        ("K1", "1 High St", "Anna", False, False, False),  # Anna's golden record follows core|C1's move
        ("K1", "2 Low Rd", "Anna", False, True, True),
    ]
    # The old version ends exactly when the new one starts.
    assert query(
        warehouse["day_2"],
        """
        select count(*) from warehouse.dim_customer as old
        inner join warehouse.dim_customer as new
            on old.customer_key = new.customer_key and not old.is_current and new.is_current
        where old.valid_to = new.valid_from
        """,
    ) == [(2,)]
    assert count(warehouse["day_2"], "warehouse.dim_customer where is_current") == 6


def test_day_2_revenue_takes_the_latest_delivery(warehouse: dict[str, Path]) -> None:
    # 36.50 on day 1, core|T1 corrected from 10.00 to 12.00, core|T4 7.25 added.
    assert query(warehouse["day_2"], "select sum(amount) from warehouse.fct_transactions") == [(Decimal("45.75"),)]
    assert query(
        warehouse["day_2"],
        """
        select amount, _file, _line from warehouse.fct_transactions
        where source_system = 'core' and transaction_id = 'T1'
        """,
    ) == [(Decimal("12.00"), "landing/core/transactions/2025-01-11.csv", 3)]


def test_ods_events_build_incrementally_and_match_a_full_rebuild(warehouse: dict[str, Path], tmp_path: Path) -> None:
    # The day-2 build took the incremental branch: only events delivered since day 1 were deduplicated.
    compiled = warehouse["day_2"].parent / "target" / "compiled" / "crm_warehouse" / "models" / "ods"
    assert "as new_ids" in (compiled / "ods_transactions.sql").read_text()
    db = tmp_path / "crm.duckdb"
    shutil.copyfile(warehouse["day_2"], db)
    events = ("ods.ods_transactions", "ods.ods_interactions")
    rebuild = ["run", "--select", "ods_customer_xref ods_transactions ods_interactions"]

    def snapshot() -> dict[str, list[tuple]]:
        return {table: query(db, f"select * from {table} order by all") for table in events}

    def full_rebuild() -> dict[str, list[tuple]]:
        result = run_dbt([*rebuild, "--full-refresh"], db, tmp_path / "full")
        assert result.returncode == 0, result.stdout[-4000:]
        return snapshot()

    # 1. Identity resolution merges core|C2 into core|C1's customer: C2's call (core|I2) is re-keyed.
    with duckdb.connect(str(db)) as con:
        [(anna,)] = con.execute("select customer_key from identity.customer_xref "
                                "where source_system = 'core' and source_customer_id = 'C1'").fetchall()
        con.execute("update identity.customer_xref set customer_key = ? "
                    "where source_system = 'core' and source_customer_id = 'C2'", [anna])
    result = run_dbt(rebuild, db, tmp_path / "inc")
    assert result.returncode == 0, result.stdout[-4000:]
    incremental = snapshot()
    assert query(db, "select customer_key from ods.ods_interactions "
                     "where source_system = 'core' and interaction_id = 'I2'") == [(anna,)]
    assert incremental == full_rebuild()

    # 2. core's day-1 transactions are delivered again without T3 (the loader replaces the day's rows and
    # marks the old file's log row not current): the next build starts over, so T3 does not linger.
    redelivered = dt.datetime.combine(D2, dt.time(9, 0))
    with duckdb.connect(str(db)) as con:
        con.execute(f"delete from {RAW_SCHEMA}.transactions where source_system = 'core' and _delivery_date = ?", [D1])
        for line, transaction_id in ((2, "T1"), (3, "T2")):
            con.execute(
                f"insert into {RAW_SCHEMA}.transactions (source_system, _delivery_date, _file, _line, _loaded_at, "
                "transaction_id, customer_id, occurred_at, amount, account_id, channel) "
                "values ('core', ?, 'landing/core/transactions/2025-01-10.csv', ?, ?, ?, 'C1', "
                "'2025-01-05 10:00:00', '1.00', 'A1', 'online')", [D1, line, redelivered, transaction_id])
        file = "landing/core/transactions/2025-01-10.csv"
        for loaded_at, current in ((dt.datetime.combine(D1, dt.time(6, 0)), False), (redelivered, True)):
            con.execute(f"insert into {RAW_SCHEMA}.load_log values (?, 'core', 'transactions', ?, 'sha', 2, 2, 0, 0, "
                        "?, ?)", [file, D1, loaded_at, current])
    result = run_dbt(rebuild, db, tmp_path / "inc")
    assert result.returncode == 0, result.stdout[-4000:]
    incremental = snapshot()
    core = [row[2] for row in incremental["ods.ods_transactions"] if row[1] == "core"]
    assert sorted(core) == ["T1", "T2", "T4"]
    assert incremental == full_rebuild()

    # 3. A table built before the _loaded_at watermark existed gains it and is filled again.
    with duckdb.connect(str(db)) as con:
        con.execute("alter table ods.ods_interactions drop column _loaded_at")
    result = run_dbt(rebuild, db, tmp_path / "inc")
    assert result.returncode == 0, result.stdout[-4000:]
    assert snapshot() == full_rebuild()
