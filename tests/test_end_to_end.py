"""End to end on a small demo bank: `crmw run` generates, loads, builds and publishes; every dbt test passes,
the quarantine holds exactly the planted bad rows, and revenue reconciles from landing files to the
warehouse."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from refresh_helpers import isolate_dagster_env

from models_ml.maturity.stages import assess, load_stage_rules
from orchestration.cli import main
from orchestration.settings import load_settings

pytestmark = pytest.mark.e2e

DEMO = '[demo]\ncustomers = 1500\nseed = 7\nstart = "2024-01-01"\nend = "2024-06-30"\n'


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("crmw_home")
    (home / "crmw.toml").write_text(DEMO, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        isolate_dagster_env(mp)  # the refresh exports DAGSTER_HOME and friends for this home
        mp.setenv("CRMW_HOME", str(home))
        mp.delenv("CRMW_CONFIG", raising=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["run"])
        settings = load_settings()
        yield settings, code, out.getvalue(), mp


def query(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_run_succeeds_and_prints_the_summary(built):
    settings, code, output, _ = built
    assert code == 0, output[-3000:]
    for heading in ("Rows per layer", "Data quality", "Time taken", "warehouse ", "ods ", "staging "):
        assert heading in output
    assert "Refresh of delivery days 2024-01-01 .. 2024-06-30: published" in output
    for stage in ("load landing files", "dbt build + tests", "warehouse checks", "publish"):
        assert f"  {stage} " in output.split("Time taken", 1)[1]
    assert settings.warehouse_path.exists()
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        published = con.execute("select count(*) from warehouse.fct_transactions").fetchall()
    assert published == query(settings, "select count(*) from warehouse.fct_transactions")


def test_every_dbt_node_passed(built):
    settings, _, _, _ = built
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text(encoding="utf-8"))["results"]
    statuses = {r["status"] for r in results}
    assert statuses <= {"success", "pass"}, [r["unique_id"] for r in results if r["status"] not in statuses]
    tests = [r for r in results if r["unique_id"].startswith(("test.", "unit_test."))]
    assert len(tests) > 100


def test_quarantine_holds_exactly_the_planted_bad_rows(built):
    settings, _, _, _ = built
    defects = pq.read_table(settings.demo_truth_dir / "defects.parquet").to_pandas()
    planted = {(r.file, int(r.line)) for r in defects[defects.causes_quarantine].itertuples()}
    assert planted, "the demo plants rows that must be quarantined"
    quarantined = set(query(settings, "select _file, _line from raw.quarantine"))
    assert quarantined == planted


def test_rows_in_every_file_reconcile(built):
    settings, _, _, _ = built
    assert query(settings, "select count(*) from raw.load_log where rows_in_file <> rows_loaded + rows_quarantined"
                 ) == [(0,)]
    (files,) = query(settings, "select count(*) from raw.load_log where is_current")[0]
    assert files == sum(1 for p in settings.landing_dir.rglob("*") if p.is_file())


def test_revenue_reconciles_from_landing_files_to_the_warehouse(built):
    """Read the landing files afresh (not through the loader): valid rows, last delivery of each id."""
    settings, _, _, _ = built
    landing = settings.landing_dir.as_posix()
    with duckdb.connect() as con:
        (expected,) = con.execute(
            f"""
            with csv as (
                select split_part(filename, '/', -3) as system, transaction_id, customer_id, occurred_at,
                       try_cast(amount as decimal(18,2)) as amount, filename
                from read_csv('{landing}/*/transactions/*.csv', all_varchar = true, filename = true,
                              ignore_errors = true, header = true, union_by_name = true)
            ), pqt as (
                select split_part(filename, '/', -3) as system, transaction_id, customer_id,
                       cast(occurred_at as varchar) as occurred_at, cast(amount as decimal(18,2)) as amount,
                       filename
                from read_parquet('{landing}/*/transactions/*.parquet', filename = true, union_by_name = true)
            ), last_delivery as (
                select amount,
                       row_number() over (partition by system, transaction_id order by filename desc) as rn
                from (select * from csv union all select * from pqt) as valid
                where transaction_id is not null and customer_id is not null and amount is not null
                  and try_cast(occurred_at as timestamp) is not null
            )
            select sum(amount) from last_delivery where rn = 1
            """
        ).fetchall()[0]
    (warehouse,) = query(settings, "select sum(amount) from warehouse.fct_transactions")[0]
    assert expected > Decimal(0)
    assert warehouse == expected


def test_customer_pnl_per_person_matches_the_planted_profit(built):
    """The warehouse's P&L, summed per real person through the planted identity map, is the planted profit:
    servicing and marketing cost exactly for everyone; revenue, cost to serve and profit for everyone but the
    few persons whose transactions or interactions carry a planted defect; the planted concentration too."""
    settings, _, _, _ = built
    truth = settings.demo_truth_dir
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        # Customer keys of exactly one person (a key of several would mean a wrong merge; not compared here).
        con.execute(f"""
            create temp table key_person as
            select customer_key, min(person_id) as person_id
            from (select distinct x.customer_key, i.person_id
                  from ods.ods_customer_xref as x
                  join '{truth}/identity_map.parquet' as i
                    on x.source_system = i.source_system and x.source_customer_id = i.customer_id) as pairs
            group by customer_key having count(*) = 1""")
        # ... and only persons none of whose records went into a key shared with another person.
        con.execute(f"""
            delete from key_person where person_id in (
                select i.person_id
                from ods.ods_customer_xref as x
                join '{truth}/identity_map.parquet' as i
                  on x.source_system = i.source_system and x.source_customer_id = i.customer_id
                where x.customer_key not in (select customer_key from key_person))""")
        compared, servicing, marketing, other, unprofitable, top20 = con.execute(f"""
            with mine as (
                select person_id, sum(profit) as profit, sum(servicing_cost) as servicing_cost,
                       sum(marketing_cost) as marketing_cost
                from warehouse.fct_customer_month join key_person using (customer_key)
                where not is_future_month group by person_id
            ), ranked as (
                select profit, row_number() over (order by profit desc) as profit_rank, count(*) over () as n
                from mine
            )
            select count(*),
                   count(*) filter (where mine.servicing_cost <> p.servicing_cost),
                   count(*) filter (where mine.marketing_cost <> p.marketing_cost),
                   count(*) filter (where mine.profit <> p.profit),
                   (select avg(case when profit < 0 then 1.0 else 0.0 end) from ranked),
                   (select sum(profit) filter (where profit_rank <= round(0.2 * n)) / sum(profit) from ranked)
            from mine join '{truth}/persons.parquet' as p using (person_id)""").fetchone()
        (defects,) = con.execute(f"select count(*) from '{truth}/defects.parquet' "
                                 "where entity in ('transactions', 'interactions')").fetchone()
    manifest = json.loads((truth / "manifest.json").read_text(encoding="utf-8"))["profitability"]
    assert compared > 1000 and servicing == 0 and marketing == 0
    assert other <= defects
    assert abs(float(unprofitable) - manifest["unprofitable_share"]) < 0.005
    assert abs(float(top20) - manifest["top20_profit_share"]) < 0.005


def test_planted_sentinel_birth_dates_are_flagged_and_blanked(built):
    settings, _, _, _ = built
    (flagged, blanked) = query(
        settings,
        "select count(*), count(*) filter (where date_of_birth is null) from ods.int_customers_conformed "
        "where has_sentinel_birth_date",
    )[0]
    assert flagged > 0 and flagged == blanked
    (sentinels_in_raw,) = query(
        settings,
        "select count(distinct source_system || '|' || customer_id) from raw.customers "
        "where date_of_birth = date '1911-11-11'",
    )[0]
    assert flagged == sentinels_in_raw


def test_detected_sentinels_are_exactly_the_planted_ones(built):
    """No list of bad values: the frequency rule finds the demo's planted 1911-11-11 in cards and nothing
    else (no false positives on birth dates, phones, emails or national ids)."""
    settings, _, _, _ = built
    defects = settings.demo_truth_dir / "defects.parquet"
    planted = query(
        settings,
        f"select distinct source_system, \"column\", value from read_parquet('{defects}') "
        "where defect_type = 'sentinel_birth_date' order by 1",
    )
    assert planted == [("cards", "date_of_birth", "1911-11-11")]
    detected = query(
        settings,
        "select source_system, field_name, sentinel_value from quality.dq_sentinel_values where pattern = 'value'",
    )
    assert detected == planted
    # The same records in the published issues: each planted row delivered is counted.
    (planted_rows,) = query(
        settings, f"select count(*) from read_parquet('{defects}') where defect_type = 'sentinel_birth_date'"
    )[0]
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        affected = con.execute(
            "select rows_affected from marts.data_quality_issues "
            "where source_system = 'cards' and field_name = 'date_of_birth' and rule_name = 'sentinel_value'"
        ).fetchall()
    assert affected == [(planted_rows,)]


def test_loading_again_changes_nothing(built):
    settings, _, _, mp = built
    before = query(settings, "select count(*), sum(rows_loaded) from raw.load_log")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["load"]) == 0
    assert "0 files loaded" in out.getvalue()
    assert query(settings, "select count(*), sum(rows_loaded) from raw.load_log") == before


def test_demo_refuses_to_overwrite_without_force(built):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo"]) == 2
    assert "--force" in out.getvalue()


def test_summary_command_reads_the_built_warehouse(built):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["summary"]) == 0
    assert "fct_transactions" in out.getvalue()
    assert Path(built[0].warehouse_path).exists()


def test_dashboards_read_the_published_database_and_the_refresh_wrote_the_report_pack(built):
    """Every page and query of the dashboards runs on the database the refresh published (the browser and
    callback tests use a hand-made one): no section misses a table, filters and lookups answer."""
    from dashboards.app import render_page
    from dashboards.data import ServingData
    from dashboards.pages import PAGES, lookup, profitability

    settings, code, _, _ = built
    assert code == 0
    data = ServingData(settings)
    with data.session():
        for page in PAGES:
            text = str(render_page(page, data, "admin"))
            assert "Not built yet:" not in text and "lacks a table it needs" not in text, page.PATH
        regions = data.segments().query("dimension == 'region'").set_index("segment")["customers"]
        region = regions.idxmax()
        deciles = data.deciles(region)
        assert set(deciles["profit_decile"]) <= set(range(1, 11)) and deciles["customers"].sum() == regions[region]
        profitability.shift_outputs(data, 0.5, [9, 10], region)
        targets = data.target_list([10], region, with_pii=True)
        assert len(targets) > 0 and (targets["profit_decile"] == 10).all() and (targets["region"] == region).all()
        key = targets["customer_key"].iloc[0]
        assert key in str(lookup.customer_view(data, key, "admin"))
        assert data.headline()["customers"] > 0 and not data.dq_scores().empty and not data.deliveries().empty
    packs = list(settings.reports_dir.glob("executive-pack-*.html"))
    assert len(packs) == 1 and "Whale curve" in packs[0].read_text(encoding="utf-8")


def test_targeting_beats_random_on_the_demo_held_out_campaigns(built):
    """The propensity model, trained on the demo's earlier campaigns, ranks the held-out campaigns' contacts
    better than random (lift > 1 in the top score decile); the policy comparison and lookalikes are published."""
    settings, code, _, _ = built
    assert code == 0
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        metrics = dict(con.execute("select metric, value from marts.targeting_metrics").fetchall())
        lift = con.sql("select * from marts.campaign_lift order by decile").df()
        policies = con.sql("select * from marts.policy_comparison").df().set_index("policy")
        scored, listed = con.execute("select (select count(*) from marts.campaign_scores), "
                                     "(select count(*) from warehouse.dim_customer where is_current)").fetchall()[0]
        bands = dict(con.execute("select similarity_band, count(*) from marts.customer_lookalikes group by 1"
                                 ).fetchall())
    print(f"\ndemo (1,500 people, 2024-01..06): {int(metrics['holdout_campaigns'])} held-out campaigns, "
          f"{int(metrics['holdout_contacts'])} contacts, top-decile lift {lift['lift'].iloc[0]:.2f}, "
          f"AUC {metrics['auc']:.3f}")
    print(policies[["budget", "contacts", "responders", "incremental_profit", "roi"]].round(2).to_string())
    assert lift["lift"].iloc[0] > 1.0
    assert lift["contacted"].sum() == metrics["holdout_contacts"] and lift["cumulative_response_share"].iloc[-1] == 1.0
    assert policies.loc["random_1_in_12", "budget"] == policies.loc["targeted_expected_value", "budget"]
    assert policies.loc["targeted_expected_value", "spend"] <= policies.loc["targeted_expected_value", "budget"]
    assert scored == listed
    assert bands.get("seed", 0) > 0 and sum(bands.values()) == listed


def test_the_refresh_publishes_the_maturity_assessment_of_the_demo(built):
    """Exact where the demo plants the truth: six source systems (five with customer records), campaigns
    mailed to a random 1/12 of the base with control groups, nobody on the dashboards; the rest must agree
    with the warehouse's own counts."""
    settings, _, output, _ = built
    assert "  maturity assessment  success" in output and "overall stage " in output
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        evidence = dict(con.execute("select evidence_key, value from marts.maturity_evidence").fetchall())
        stages = dict(con.execute("select capability_id, stage from marts.maturity_assessment").fetchall())
        notes = con.execute("select distinct note from marts.maturity_sponsors").fetchall()
        (customers, records) = con.execute("select count(distinct customer_key), count(*) "
                                           "from warehouse.dim_customer_xref").fetchone()
        (contacts, controls) = con.execute("select count(*) filter (where not is_control), "
                                           "count(*) filter (where is_control) "
                                           "from warehouse.fct_campaign_contacts").fetchone()
    assert (evidence["source_systems"], evidence["customer_source_systems"]) == (6, 5)
    assert (evidence["customers"], evidence["customer_records"]) == (customers, records)
    assert evidence["campaign_contacts"] == contacts and evidence["control_group_share"] == pytest.approx(
        controls / (contacts + controls))
    assert evidence["targeted_contact_share"] == 0.0 and evidence["targeted_campaign_lift"] is None
    assert evidence["campaign_lift"] > 1.5  # responses follow a hidden propensity; the control group's do not
    assert evidence["dashboard_users_30d"] == 0 and evidence["profit_deciles_current"] == 1.0
    assert 0 < evidence["duplicate_rate_after"] < evidence["duplicate_rate_before"] or \
        evidence["duplicate_rate_after"] == 0 < evidence["duplicate_rate_before"]
    # Planted: the data store and profitability complete, campaigns mailed at random (whatever the targeting
    # model could do), nobody on the dashboards, the naive CLV model published (the demo's profit is stable).
    assert stages == {"customer_data_store": 5, "profitability_segmentation": 5, "campaign_targeting": 3,
                      "analytics_access": 2, "overall": 3}, stages
    # ... and every stage is what the rules give the published evidence.
    rules = load_stage_rules()
    flags = {k for k, spec in rules.evidence.items() if spec.unit == "flag"}
    again = assess({k: (bool(v) if k in flags and v is not None else v) for k, v in evidence.items()}, rules)
    assert {c.id: c.stage for c in again.capabilities} | {"overall": again.stage} == stages
    assert notes == [("no answers yet: run `crmw assess`",)]
