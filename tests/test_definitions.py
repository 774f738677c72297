"""The Dagster definitions load, and their parts behave: asset graph and groups, the job and its
partitions, the configurable schedule, the new-landing-files sensor, the run-failure sensor's log, the
[refresh] settings. No dbt build here (the manifest is parsed once); see test_refresh.py for runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from refresh_helpers import isolate_dagster_env

from orchestration.assets.dbt import layer_of
from orchestration.definitions import JOB_NAME, build_definitions
from orchestration.landing.contract import ENTITIES
from orchestration.settings import ConfigError, load_settings
from orchestration.status import FailureRecord, recent_failures, record_failures

REPO = Path(__file__).resolve().parents[1]
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@pytest.fixture
def home(tmp_path, monkeypatch):
    isolate_dagster_env(monkeypatch)
    monkeypatch.setenv("CRMW_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        isolate_dagster_env(mp)
        home = tmp_path_factory.mktemp("defs_home")
        mp.setenv("CRMW_HOME", str(home))
        yield build_definitions(load_settings())


def test_definitions_load_with_the_asset_graph_job_schedule_and_sensors(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {"raw/landing"} | {
        "seeds/channels", "seeds/products", "seeds/interaction_types",
        "staging/stg_landing__customers", "staging/stg_landing__transactions",
        "ods/ods_customers", "ods/ods_customer_xref", "ods/int_customers_deduplicated",
        "snapshots/customers_snapshot",
        "warehouse/dim_customer", "warehouse/dim_customer_xref", "warehouse/fct_transactions",
        "warehouse/dim_date", "ods/int_customers_conformed", "identity/customer_identity",
        "staging/stg_customer_identity__xref", "staging/stg_customer_identity__golden_customers",
        "serving_database",
    }
    assert expected <= keys
    groups = {str(graph.get(k).group_name) for k in graph.get_all_asset_keys()}
    assert groups == {"landing", "seeds", "staging", "ods", "identity", "snapshots", "warehouse", "quality",
                      "marts", "models", "publish"}

    job = defs.resolve_job_def(JOB_NAME)
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)
    assert job.partitions_def.start.date() == dt.date(2020, 1, 1)
    assert {s.name for s in defs.schedules} == {"nightly_refresh"}
    assert {s.name for s in defs.sensors} == {"new_landing_files", "refresh_failures"}
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.job_name == JOB_NAME
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_customer_value_models_read_the_warehouse_and_feed_publishing(defs):
    graph = defs.resolve_asset_graph()
    clv, metrics = dg.AssetKey(["models", "customer_clv"]), dg.AssetKey(["models", "model_metrics"])
    assert graph.get(clv).group_name == graph.get(metrics).group_name == "models"
    assert dg.AssetKey(["warehouse", "fct_customer_month"]) in graph.get(clv).parent_keys
    assert dg.AssetKey(["warehouse", "fct_transactions"]) in graph.get(metrics).parent_keys
    assert {clv, metrics} <= graph.get(dg.AssetKey("serving_database")).parent_keys
    assert defs.resolve_assets_def(clv).op.pool == "crmw_warehouse"


def test_segments_run_after_customer_value_and_profitability_and_feed_publishing(defs):
    graph = defs.resolve_asset_graph()
    segments, profiles = dg.AssetKey(["models", "customer_segments"]), dg.AssetKey(["models", "segment_profiles"])
    for key in (segments, profiles):
        assert graph.get(key).parent_keys == {dg.AssetKey(["models", "customer_clv"]),
                                              dg.AssetKey(["marts", "customer_profitability"]),
                                              dg.AssetKey(["warehouse", "fct_transactions"])}
    assert {segments, profiles} <= graph.get(dg.AssetKey("serving_database")).parent_keys
    assert defs.resolve_assets_def(segments).op.pool == "crmw_warehouse"


def test_targeting_and_lookalikes_read_the_warehouse_and_feed_publishing(defs):
    graph = defs.resolve_asset_graph()
    targeting, lookalikes = dg.AssetKey(["models", "campaign_targeting"]), dg.AssetKey(["models", "lookalikes"])
    assert dg.AssetKey(["warehouse", "fct_campaign_contacts"]) in graph.get(targeting).parent_keys
    assert dg.AssetKey(["marts", "customer_profitability"]) in graph.get(lookalikes).parent_keys
    assert {targeting, lookalikes} <= graph.get(dg.AssetKey("serving_database")).parent_keys
    for key in (targeting, lookalikes):
        assert graph.get(key).group_name == "models"
        assert defs.resolve_assets_def(key).op.pool == "crmw_warehouse"


def test_identity_resolution_sits_between_the_two_dbt_parts(defs):
    graph = defs.resolve_asset_graph()
    identity = dg.AssetKey(["identity", "customer_identity"])
    assert graph.get(identity).group_name == "identity"
    assert graph.get(identity).parent_keys == {dg.AssetKey(["ods", "int_customers_conformed"])}
    # The second dbt part reads what identity writes (the dbt source `customer_identity`).
    assert graph.get(identity).child_keys == {
        dg.AssetKey(["staging", "stg_customer_identity__xref"]),
        dg.AssetKey(["staging", "stg_customer_identity__golden_customers"]),
    }
    identity_def = defs.resolve_assets_def(identity)
    assert identity_def.op.pool == "crmw_warehouse"
    first = defs.resolve_assets_def(dg.AssetKey(["ods", "int_customers_conformed"]))
    second = defs.resolve_assets_def(dg.AssetKey(["ods", "ods_customers"]))
    assert (first.op.name, second.op.name) == ("dbt_staging", "dbt_build")
    first_keys = {k.to_user_string() for k in first.keys}
    assert {"seeds/products", "staging/stg_landing__customers", "ods/int_customer_ids_unioned"} <= first_keys
    assert not any(k.startswith(("warehouse/", "snapshots/")) or k.startswith("ods/ods_") for k in first_keys)
    assert first.keys.isdisjoint(second.keys)
    ods_customers = graph.get(dg.AssetKey(["ods", "ods_customers"]))
    assert dg.AssetKey(["staging", "stg_customer_identity__golden_customers"]) in ods_customers.parent_keys


def test_loads_are_daily_partitioned_single_run_retried_and_in_the_warehouse_pool(defs):
    graph = defs.resolve_asset_graph()
    loads = defs.resolve_assets_def(dg.AssetKey(["raw", "landing"]))
    assert {k.to_user_string() for k in loads.keys} == {"raw/landing"}
    assert isinstance(loads.partitions_def, dg.DailyPartitionsDefinition)
    assert graph.get(loads.key).group_name == "landing"
    assert loads.backfill_policy == dg.BackfillPolicy.single_run()
    (op,) = [loads.op]
    assert op.retry_policy.max_retries == 3 and op.retry_policy.backoff == dg.Backoff.EXPONENTIAL
    assert op.pool == "crmw_warehouse"
    checks = {(c.asset_key.to_user_string(), c.name): c for c in loads.check_specs}
    assert set(checks) == {("raw/landing", "reconciles_with_files"), ("raw/landing", "has_every_delivered_file")}
    assert all(c.blocking for c in checks.values())
    for key in ("warehouse/fct_transactions", "serving_database", "staging/stg_landing__customers"):
        assert defs.resolve_assets_def(dg.AssetKey.from_user_string(key)).op.pool == "crmw_warehouse"


def test_translator_groups_every_dbt_node_by_its_folder(defs):
    from orchestration.assets.dbt import dbt_project

    graph = defs.resolve_asset_graph()
    manifest = json.loads(dbt_project(load_settings()).manifest_path.read_text(encoding="utf-8"))
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")]
    assert len(nodes) >= 30
    for node in nodes:
        path = Path(node["original_file_path"])
        folder = path.parts[1] if node["resource_type"] == "model" else path.parent.name
        key = dg.AssetKey([folder, node["name"]])
        assert graph.has(key), key
        assert graph.get(key).group_name == folder == layer_of(node)
    # The dbt source `landing` is the raw layer the loads write: every staging model hangs off it.
    for entity in ENTITIES:
        stg = graph.get(dg.AssetKey(["staging", f"stg_landing__{entity}"]))
        assert stg.parent_keys == {dg.AssetKey(["raw", "landing"])}
    # Every dbt data test on a seed, model or snapshot is an asset check of that node.
    refable = {n["unique_id"] for n in nodes}
    tests = [n for n in manifest["nodes"].values()
             if n["resource_type"] == "test" and n.get("attached_node") in refable]
    dbt_checks = {k for k in graph.asset_check_keys
                  if graph.get(k.asset_key).group_name
                  in ("seeds", "staging", "ods", "snapshots", "warehouse", "quality", "marts")
                  and k.name not in ("one_row_per_natural_key", "one_current_version_per_customer")}
    assert len(tests) > 200 and len(dbt_checks) == len(tests)


def test_publish_waits_for_the_whole_warehouse_and_its_grain_checks(defs):
    graph = defs.resolve_asset_graph()
    serving = graph.get(dg.AssetKey("serving_database"))
    published = {k for k in graph.get_all_asset_keys()
                 if graph.get(k).group_name in ("warehouse", "quality", "models", "marts")}
    assert {k.to_user_string() for k in published} >= {"warehouse/fct_customer_month", "marts/customer_profitability"}
    assert set(serving.parent_keys) == published
    grain = {k for k in graph.asset_check_keys
             if k.name in ("one_row_per_natural_key", "one_current_version_per_customer")}
    assert {k.asset_key.to_user_string() for k in grain} == {
        "warehouse/fct_transactions", "warehouse/fct_interactions", "warehouse/fct_holdings",
        "warehouse/fct_campaign_contacts", "warehouse/dim_campaign", "warehouse/dim_customer",
    }
    checks_def = defs.get_asset_checks_def(next(iter(grain)))
    assert all(spec.blocking for spec in checks_def.check_specs)


def test_schedule_time_and_time_zone_come_from_settings(home):
    (home / "crmw.toml").write_text(
        '[refresh]\nschedule = "03:30"\ntimezone = "Europe/Amsterdam"\nfirst_day = "2024-06-01"\n', encoding="utf-8"
    )
    settings = load_settings()
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "30 3 * * *"
    assert schedule.execution_timezone == "Europe/Amsterdam"
    assert defs.resolve_job_def(JOB_NAME).partitions_def.start.date() == dt.date(2024, 6, 1)
    # At 03:30 on 10 March (Amsterdam) the schedule refreshes the day just over, 9 March.
    when = dt.datetime(2025, 3, 10, 3, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2025-03-09"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[refresh]\nschedule = "2am"\n', "[refresh].schedule = '2am' is not a HH:MM time of day"),
        ('[refresh]\nschedule = "24:00"\n', "[refresh].schedule = '24:00' is not a HH:MM time of day"),
        ('[refresh]\ntimezone = "Mars/Olympus"\n', "[refresh].timezone = 'Mars/Olympus' is not an IANA time zone"),
        ('[refresh]\nfirst_day = "2020-13-01"\n', "[refresh].first_day = '2020-13-01' is not a YYYY-MM-DD date"),
        ("[refresh]\nhour = 2\n", "unknown key [refresh].hour"),
    ],
)
def test_bad_refresh_settings_name_the_file_and_key(home, text, message):
    (home / "crmw.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert message in str(err.value) and str(home / "crmw.toml") in str(err.value)


def test_local_time_zone_is_resolved_to_an_iana_name(home, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    assert load_settings().refresh.zone == "America/New_York"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert load_settings().refresh.zone != "Not/AZone"


def _deliver(landing: Path, system: str, entity: str, day: str, body: str) -> Path:
    path = landing / system / entity / f"{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def test_sensor_requests_one_run_over_the_days_whose_files_are_new_or_changed(home):
    settings = load_settings()
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("new_landing_files")
    landing = settings.landing_dir
    _deliver(landing, "core", "customers", "2025-01-01", "customer_id\nC1\n")
    _deliver(landing, "core", "customers", "2025-01-02", "customer_id\nC2\n")
    with dg.DagsterInstance.ephemeral() as instance:
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert first.run_requests == [] and "2 delivery days" in first.skip_message
        cursor = first.cursor
        assert sorted(json.loads(cursor)) == ["2025-01-01", "2025-01-02"]

        quiet = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert quiet.run_requests == [] and quiet.cursor in (None, cursor)

        # A new day, a corrected earlier day, an upload in progress and a day not over yet.
        _deliver(landing, "core", "transactions", "2025-01-05",
                 "transaction_id,customer_id,occurred_at,amount\nT1,C1,2025-01-05 10:00:00,5.00\n")
        changed = _deliver(landing, "core", "customers", "2025-01-02", "customer_id\nC2\nC3\n")
        os.utime(changed, ns=(1, 1))
        _deliver(landing, "core", "_incoming", "x", "partial")
        today = dt.datetime.now(dt.UTC).date().isoformat()
        _deliver(landing, "core", "customers", today, "customer_id\nC9\n")
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))
        (request,) = tick.run_requests
        assert request.tags[RANGE_START] == "2025-01-02" and request.tags[RANGE_END] == "2025-01-05"
        assert request.job_name in (None, JOB_NAME) and request.run_key
        assert today not in json.loads(tick.cursor)

        again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
        assert again.run_requests == []


def test_refresh_log_records_each_failure_once_with_a_log_line(home):
    settings = load_settings()
    failures = [FailureRecord("check", "raw/transactions:reconciles_with_files", "[ERROR] 1 files do not reconcile"),
                FailureRecord("step", "landing_loads", "1 blocking asset check failed")]
    assert record_failures(settings, "run-1", failures, range_start="2025-01-01", range_end="2025-01-03") == 2
    assert record_failures(settings, "run-1", failures) == 0  # the sensor and the CLI may both record it
    with sqlite3.connect(settings.refresh_log_path) as con:
        rows = con.execute("select run_id, kind, name, range_start from failures order by kind").fetchall()
    assert rows == [("run-1", "check", "raw/transactions:reconciles_with_files", "2025-01-01"),
                    ("run-1", "step", "landing_loads", "2025-01-01")]
    lines = (settings.logs_dir / "refresh.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert "FAILED run run-1 2025-01-01..2025-01-03 check raw/transactions:reconciles_with_files" in lines[0]
    assert [r[5] for r in recent_failures(settings)] == ["raw/transactions:reconciles_with_files", "landing_loads"]


def test_dagster_loads_the_code_location_as_crmw_ui_starts_it(home, monkeypatch):
    """`crmw ui` becomes `dagster dev -m orchestration.definitions` on 127.0.0.1 with this home's
    instance; Dagster's own loader validates that module."""
    from orchestration.cli import main

    calls: list[tuple] = []

    def fake_execve(path, argv, env):
        calls.append((path, argv, env))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.setattr(signal, "signal", lambda sig, handler: calls.append((sig, handler)))
    with pytest.raises(SystemExit):
        main(["ui", "--port", "3999"])
    assert calls[0] == (signal.SIGINT, signal.SIG_DFL)
    path, argv, env = calls[1]
    assert path == sys.executable
    assert argv[1:] == ["-m", "dagster", "dev", "-m", "orchestration.definitions", "--host", "127.0.0.1",
                        "--port", "3999"]
    assert env["DAGSTER_HOME"] == str(home / "dagster")
    assert env["CRMW_DAGSTER_STORAGE"] == str(home / "dagster" / "storage")
    assert (home / "dagster" / "dagster.yaml").read_bytes() == (REPO / "dagster.yaml").read_bytes()
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)

    validate = [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "orchestration.definitions"]
    done = subprocess.run(validate, env=env, capture_output=True, text=True, timeout=300, cwd=home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Validation successful for code location orchestration.definitions" in done.stdout + done.stderr


def test_maturity_assessment_reads_the_whole_warehouse_and_feeds_publishing(defs):
    graph = defs.resolve_asset_graph()
    keys = [dg.AssetKey(["models", name]) for name in
            ("maturity_evidence", "maturity_assessment", "maturity_gaps", "maturity_sponsors")]
    reads = {dg.AssetKey(["models", "customer_segments"]), dg.AssetKey(["models", "model_metrics"]),
             dg.AssetKey(["warehouse", "fct_campaign_contacts"]), dg.AssetKey(["marts", "profitability_deciles"]),
             dg.AssetKey(["ods", "int_customers_conformed"])}
    for key in keys:
        assert graph.get(key).group_name == "models"
        assert reads <= graph.get(key).parent_keys
        assert not set(keys) & graph.get(key).parent_keys
    assert any(k.path[-1] == "data_quality_scores" for k in graph.get(keys[0]).parent_keys)
    assert set(keys) <= graph.get(dg.AssetKey("serving_database")).parent_keys
    assert defs.resolve_assets_def(keys[0]).op.pool == "crmw_warehouse"


def test_customer_grain_check_allows_keys_merged_away_and_catches_missing_or_doubled_versions():
    import duckdb

    from orchestration.assets.checks import CUSTOMER_DIMENSION, grain_outcomes

    con = duckdb.connect()
    con.execute("create schema ods; create schema warehouse")
    con.execute("create table ods.ods_customers as select * from (values ('k1'), ('k2')) as t(customer_key)")
    # k1 has two versions, the latest current; k3 was merged into k2 by identity resolution: closed only
    con.execute("""create table warehouse.dim_customer as select * from (values
        ('k1', false), ('k1', true), ('k2', true), ('k3', false)) as t(customer_key, is_current)""")
    passed, description, meta = grain_outcomes(con, [CUSTOMER_DIMENSION])[CUSTOMER_DIMENSION]
    assert passed, description
    assert meta == {"customers": 2, "current_versions": 2, "versions": 4, "doubled": 0, "missing": 0, "extra": 0,
                    "retired_keys": 1}
    # k2 with a second current version, k1 without one, k3 current though no longer in the ODS: each fails
    for change, field in (("insert into warehouse.dim_customer values ('k2', true)", "doubled"),
                          ("update warehouse.dim_customer set is_current = false where customer_key = 'k1'", "missing"),
                          ("update warehouse.dim_customer set is_current = true where customer_key = 'k3'", "extra")):
        con.execute("begin")
        con.execute(change)
        passed, description, meta = grain_outcomes(con, [CUSTOMER_DIMENSION])[CUSTOMER_DIMENSION]
        con.execute("rollback")
        assert not passed and meta[field] == 1, (change, description)
