"""The refresh's parts on tiny hand-made data, without dbt: write-audit-publish of the serving file,
the loads' reconciliation and freshness checks, setting later deliveries aside (`--to`), the range a
refresh covers, and `crmw status` before anything ran."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import duckdb
import pytest
from refresh_helpers import isolate_dagster_env

from orchestration import publish as publish_mod
from orchestration.assets.landing import check_deliveries, forget_deliveries_after, reconcile_loads
from orchestration.landing.loader import load_landing
from orchestration.publish import AuditError, connect_serving, publish, table_checksums
from orchestration.refresh import RefreshError, plan_range
from orchestration.settings import load_settings
from orchestration.status import collect_status, render_status

D1, D2, D3 = dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 1, 3)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    isolate_dagster_env(monkeypatch)
    monkeypatch.setenv("CRMW_HOME", str(tmp_path / "home"))
    return load_settings()


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_working_warehouse(settings, revenue: int) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema if not exists warehouse; create schema if not exists staging")
        con.execute("create or replace table warehouse.fct_sales as "
                    f"select range as sale_id, range * {revenue} as amount from range(1000)")
        con.execute("create or replace table warehouse.dim_thing as select 'a' as thing_id, true as is_good")
        con.execute("create or replace view staging.stg_x as select 1 as x")  # not published


def test_publish_writes_audits_and_atomically_replaces_the_serving_file(settings):
    make_working_warehouse(settings, revenue=2)
    first = publish(settings, "run-1", D1, D2)
    assert first.tables == {"warehouse.dim_thing": 1, "warehouse.fct_sales": 1000}
    with connect_serving(settings) as con:
        assert con.execute("select sum(amount) from warehouse.fct_sales").fetchall() == [(999_000,)]
        assert con.execute("select run_id, range_start, range_end from meta.publish").fetchall() == [("run-1", D1, D2)]
        assert con.execute("select count(*) from information_schema.tables where table_schema = 'staging'"
                           ).fetchall() == [(0,)]
        assert table_checksums(con) == {t: (first.tables[t], first.checksums[t]) for t in first.tables}

    # A reader holding the published file open neither blocks the next publish nor sees it change.
    reader = connect_serving(settings)
    make_working_warehouse(settings, revenue=3)
    second = publish(settings, "run-2", D1, D3)
    assert reader.execute("select sum(amount) from warehouse.fct_sales").fetchall() == [(999_000,)]
    with connect_serving(settings) as fresh:
        assert fresh.execute("select sum(amount) from warehouse.fct_sales").fetchall() == [(1_498_500,)]
    reader.close()
    assert second.checksums["warehouse.fct_sales"] != first.checksums["warehouse.fct_sales"]
    assert sorted(p.name for p in settings.serving_path.parent.iterdir()) == ["crm.duckdb"]


def test_failed_audit_or_killed_publish_leaves_the_old_serving_file(settings, monkeypatch):
    make_working_warehouse(settings, revenue=2)
    publish(settings, "run-1")
    before = sha256(settings.serving_path)
    # A temporary file left by a publish that was killed is cleaned up by the next one.
    stale = settings.serving_path.with_name(".crm.duckdb.killed-run.tmp")
    stale.write_bytes(b"half written")
    make_working_warehouse(settings, revenue=5)
    real = publish_mod.table_checksum

    def corrupt_copy(con, table, exclude_columns=(), catalog=None):
        rows, checksum = real(con, table, exclude_columns, catalog)
        return (rows + (catalog is None), checksum)  # the copy "lost" a row

    monkeypatch.setattr(publish_mod, "table_checksum", corrupt_copy)
    with pytest.raises(AuditError, match="nothing published"):
        publish(settings, "run-2")
    assert sha256(settings.serving_path) == before
    assert sorted(p.name for p in settings.serving_path.parent.iterdir()) == ["crm.duckdb"]


def test_readers_can_open_the_serving_file_while_publishes_run(settings):
    make_working_warehouse(settings, revenue=1)
    publish(settings, "run-0")
    errors, reads = [], []
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                with connect_serving(settings) as con:
                    reads.append(con.execute("select count(*) from warehouse.fct_sales").fetchall()[0][0])
            except Exception as exc:  # noqa: BLE001 - any failure to read is what we look for
                errors.append(exc)

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        for i in range(5):
            publish(settings, f"run-{i + 1}")
    finally:
        stop.set()
        thread.join()
    assert errors == [] and len(reads) > 0 and set(reads) == {1000}


def deliver(landing, system, entity, day, body):
    path = landing / system / entity / f"{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def three_days(landing):
    head = "transaction_id,customer_id,occurred_at,amount\n"
    deliver(landing, "core", "transactions", D1,
            head + "T1,C1,2025-01-01 09:00:00,1.00\nT2,C1,2025-01-01 10:00:00,2.00\n")
    deliver(landing, "core", "transactions", D2, head + "T3,C2,2025-01-02 09:00:00,3.00\n,C2,2025-01-02 09:00:00,4\n")
    deliver(landing, "cards", "transactions", D3, head + "K1,X1,2025-01-03 09:00:00,5.00\n")
    deliver(landing, "core", "customers", D3, "customer_id,first_name\nC1,Ann\nC2,Bob\n")


def test_checks_catch_drift_and_undelivered_files_and_as_of_sets_later_days_aside(settings):
    landing = settings.landing_dir
    three_days(landing)
    with duckdb.connect(":memory:") as con:
        load_landing(con, landing, None, D2)
        assert all(o.passed for o in reconcile_loads(con).values())
        fresh = check_deliveries(con, landing, D1, D2)
        assert all(o.passed for o in fresh.values())
        assert fresh["transactions"].metadata["files_delivered"] == 2
        # Days after D2 are not loaded: the freshness check over D3 names them.
        late = check_deliveries(con, landing, D1, D3)
        assert not late["transactions"].passed and not late["customers"].passed
        assert late["transactions"].metadata["not_loaded"] == ["cards/transactions/2025-01-03.csv (not loaded)"]
        # A row lost from the raw table is caught, naming the file and the counts.
        con.execute("delete from raw.transactions where transaction_id = 'T2'")
        outcome = reconcile_loads(con)["transactions"]
        assert not outcome.passed
        assert outcome.metadata["mismatches"] == [
            "core/transactions/2025-01-01.csv: 2 rows in file, load log 2 loaded + 0 quarantined, "
            "raw table has 1, quarantine has 0"
        ]
        con.execute("insert into raw.transactions (source_system, _delivery_date, _file, _line, _loaded_at, "
                    "transaction_id, customer_id, occurred_at, amount) select source_system, _delivery_date, _file, "
                    "3, _loaded_at, 'T2', 'C1', timestamp '2025-01-01 10:00:00', 2.00 from raw.transactions "
                    "where transaction_id = 'T1'")
        assert reconcile_loads(con)["transactions"].passed
        # A corrected file that was not reloaded is stale.
        deliver(landing, "core", "transactions", D1,
                "transaction_id,customer_id,occurred_at,amount\nT1,C1,2025-01-01 09:00:00,9.00\n")
        assert check_deliveries(con, landing, D1, D2)["transactions"].metadata["not_loaded"] == [
            "core/transactions/2025-01-01.csv (changed since it was loaded)"
        ]

        load_landing(con, landing)  # everything, including the corrected D1 and the D3 files
        counts = "select count(*) from raw.transactions"
        assert con.execute(counts).fetchall() == [(3,)]  # T1 (corrected), T3, K1; one D2 row quarantined
        assert forget_deliveries_after(con, D1) == 3  # D2 transactions, D3 transactions and customers
        assert con.execute("select transaction_id, amount from raw.transactions").fetchall() == [("T1", 9)]
        assert con.execute("select count(*) from raw.quarantine").fetchall() == [(0,)]
        assert con.execute("select count(*) from raw.customers").fetchall() == [(0,)]
        assert all(o.passed for o in reconcile_loads(con).values())
        # The files are still delivered, so a later load brings them back.
        report = load_landing(con, landing)
        assert (report.files_loaded, report.files_unchanged) == (3, 1)
        assert con.execute(counts).fetchall() == [(3,)]


def test_refresh_range_defaults_to_every_landing_file_and_refuses_bad_ranges(settings, tmp_path):
    with pytest.raises(RefreshError, match="no landing files"):
        plan_range(settings, None, None)
    three_days(settings.landing_dir)
    assert plan_range(settings, None, None) == (D1, D3, 0)
    assert plan_range(settings, D2, None) == (D2, D3, 0)
    assert plan_range(settings, None, D2) == (D1, D2, 0)
    today = dt.datetime.now(dt.UTC).date()
    deliver(settings.landing_dir, "core", "customers", today, "customer_id\nC9\n")
    assert plan_range(settings, None, None) == (D1, today - dt.timedelta(days=1), 1)
    with pytest.raises(RefreshError, match="is not over yet"):
        plan_range(settings, None, today)
    with pytest.raises(RefreshError, match="no landing files on or before 2024-12-31"):
        plan_range(settings, None, dt.date(2024, 12, 31))

    # Without --from a refresh starts at the first day with a file not loaded yet, or modified since.
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        load_landing(con, settings.landing_dir, None, D2)
    assert plan_range(settings, None, None) == (D3, today - dt.timedelta(days=1), 1)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        load_landing(con, settings.landing_dir)
    yesterday = today - dt.timedelta(days=1)
    assert plan_range(settings, None, None) == (yesterday, yesterday, 1)  # nothing new: rebuild the last day
    assert plan_range(settings, None, D2) == (D2, D2, 1)
    deliver(settings.landing_dir, "core", "transactions", D2, "transaction_id,customer_id,occurred_at,amount\n")
    assert plan_range(settings, None, None) == (D2, yesterday, 1)

    deliver(settings.landing_dir, "core", "customers", dt.date(2019, 12, 31), "customer_id\nC0\n")
    with pytest.raises(RefreshError, match=r'set \[refresh\] first_day = "2019-12-31"'):
        plan_range(settings, None, None)


def test_status_before_any_refresh_says_so(settings):
    text = render_status(collect_status(settings), settings)
    assert "Last successful refresh: none" in text
    assert "Published: nothing yet" in text
    assert f"no refresh has run in {settings.home} yet" in text
