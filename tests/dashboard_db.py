"""A tiny published database for the dashboard tests, built in a second, through the real publish.

Tables are created with the columns and types of the dbt contracts (`_warehouse__models.yml`,
`_profitability__models.yml`), so a renamed or dropped contract column breaks these tests as it would
break the app; the two published quality models have no contract and are declared here as their SQL
selects them. Rows are hand-made: twenty customers K01..K20, customer i earning profit 1500 - 100 i over
the window (ranks 1..20, two per decile), odd i in London, even i in North West. Marts are derived from
those rows with plain SQL. `tests/test_end_to_end.py` runs the same dashboard queries on a database the
real refresh published.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import yaml

from models_ml.maturity.questionnaire import Answers, load_questionnaire, write_answers
from orchestration.landing.raw_tables import create_raw_tables
from orchestration.maturity import maturity_for_warehouse
from orchestration.publish import publish
from orchestration.segments import SEGMENT_COLUMNS
from orchestration.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = (ROOT / "dbt_project/models/warehouse/_warehouse__models.yml",
             ROOT / "dbt_project/models/marts/profitability/_profitability__models.yml")
TABLES = {
    "warehouse": ("dim_customer", "dim_customer_xref", "fct_interactions", "fct_customer_month", "dim_campaign",
                  "fct_campaign_contacts", "fct_holdings", "fct_customer_month_channel"),
    "marts": ("customer_profitability", "profitability_deciles", "profitability_whale_curve",
              "profitability_concentration", "profitability_by_segment", "profitability_monthly_trend",
              "marketing_spend_by_purpose", "profitability_decile_migration"),
}
QUALITY_DDL = {
    "data_quality_scores": "source_system varchar, delivery_date date, area varchar, score double, "
    "rules_checked bigint, rules_failed bigint, rows_checked bigint, rows_failed bigint, loaded_at timestamp",
    "data_quality_issues": "source_system varchar, entity varchar, field_name varchar, rule_name varchar, "
    "area varchar, rows_checked bigint, rows_affected bigint, percent_affected double, deliveries_affected bigint, "
    "first_delivery_date date, last_delivery_date date, example_values varchar, detail varchar",
}
TYPES = {"string": "varchar"}
N = 20
AS_OF = dt.date(2025, 3, 1)
WINDOW_START = dt.date(2024, 4, 1)


def contract_columns() -> dict[str, list[tuple[str, str]]]:
    out = {}
    for path in CONTRACTS:
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            cols = [(c["name"], TYPES.get(c["data_type"], c["data_type"])) for c in model.get("columns", [])
                    if "data_type" in c]
            if cols:
                out[model["name"]] = cols
    return out


def _create(con: duckdb.DuckDBPyConnection) -> None:
    contracts = contract_columns()
    for schema, names in TABLES.items():
        con.execute(f"create schema if not exists {schema}")
        for name in names:
            cols = ", ".join(f'"{c}" {t}' for c, t in contracts[name])
            con.execute(f"create table {schema}.{name} ({cols})")
    for name, ddl in QUALITY_DDL.items():
        con.execute(f"create table marts.{name} ({ddl})")


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        insert into marts.customer_profitability by name
        select 'K' || lpad(i::varchar, 2, '0') as customer_key, date '{AS_OF}' as as_of_month,
               date '{WINDOW_START}' as window_start_month, 2000 - 20 * i as revenue, 490 + 60 * i as direct_cost,
               20 * i as cost_to_serve, 15 * i as cost_to_serve_assisted, 5 * i as cost_to_serve_self_service,
               10 as servicing_cost, 0 as marketing_cost, 1500 - 100 * i as profit, 1500 - 100 * i < 0
               as is_unprofitable, i as profit_rank, (i - 1) * 10 // {N} + 1 as profit_decile,
               12 as active_months, 1 + i % 3 as products_held, 12 as transactions, i + 2 as interactions,
               i as assisted_interactions, 2 as self_service_interactions, 1 as campaign_contacts,
               case when i % 2 = 1 then 'London' else 'North West' end as region,
               case when i <= 10 then 'Urban' else 'Rural' end as geo_segment
        from range(1, {N + 1}) as t(i)""")
    con.execute("""
        insert into marts.profitability_deciles by name
        select profit_decile, max(as_of_month) as as_of_month, count(*) as customers,
               sum(is_unprofitable::int) as unprofitable_customers, sum(revenue) as revenue,
               sum(direct_cost) as direct_cost, sum(cost_to_serve) as cost_to_serve,
               sum(servicing_cost) as servicing_cost, sum(marketing_cost) as marketing_cost, sum(profit) as profit,
               avg(profit) as avg_profit, min(profit) as min_profit, max(profit) as max_profit,
               sum(profit) / sum(sum(profit)) over () as profit_share,
               sum(sum(profit)) over (order by profit_decile) / sum(sum(profit)) over () as cumulative_profit_share,
               avg(products_held) as avg_products_held, sum(interactions) as interactions,
               sum(assisted_interactions) / sum(interactions) as assisted_interaction_share,
               sum(self_service_interactions) / sum(interactions) as self_service_interaction_share,
               sum(cost_to_serve_assisted) / sum(cost_to_serve) as assisted_cost_to_serve_share
        from marts.customer_profitability group by profit_decile""")
    con.execute(f"""
        insert into marts.profitability_whale_curve by name
        select p as percentile, date '{AS_OF}' as as_of_month, ceil(p * {N} / 100)::bigint as customers,
               ceil(p * {N} / 100) / {N} as customer_share,
               coalesce((select sum(profit) from marts.customer_profitability
                         where profit_rank <= ceil(p * {N} / 100)), 0) as cumulative_profit,
               coalesce((select sum(profit) from marts.customer_profitability
                         where profit_rank <= ceil(p * {N} / 100)), 0)
                   / (select sum(profit) from marts.customer_profitability) as cumulative_profit_share
        from range(0, 101) as t(p)""")
    con.execute(f"""
        insert into marts.profitability_concentration by name
        select date '{AS_OF}' as as_of_month, date '{WINDOW_START}' as window_start_month, count(*) as customers,
               sum(revenue) as total_revenue, sum(cost_to_serve) as total_cost_to_serve,
               sum(profit) as total_profit, 4 as top_20_customers,
               sum(profit) filter (where profit_decile <= 2) as top_20_profit,
               sum(profit) filter (where profit_decile <= 2) / sum(profit) as top_20_profit_share,
               sum(is_unprofitable::int) as unprofitable_customers,
               avg(is_unprofitable::int) as unprofitable_customer_share
        from marts.customer_profitability""")
    con.execute("""
        insert into marts.profitability_by_segment by name
        select dimension, segment, count(*) as customers, sum(is_unprofitable::int) as unprofitable_customers,
               avg(is_unprofitable::int) as unprofitable_customer_share, sum(revenue) as revenue,
               sum(cost_to_serve) as cost_to_serve, sum(profit) as profit, avg(profit) as avg_profit,
               avg(products_held) as avg_products_held
        from (select 'region' as dimension, region as segment, * from marts.customer_profitability
              union all
              select 'geo_segment', geo_segment, * from marts.customer_profitability)
        group by dimension, segment""")
    con.execute(f"""
        insert into marts.profitability_monthly_trend by name
        select (date '{WINDOW_START}' + to_months(m))::date as month_start, 5 + m as active_customers,
               1000 + 10 * m as revenue, 100 as direct_cost, 200 + 5 * m as cost_to_serve,
               150 as cost_to_serve_assisted, 50 + 5 * m as cost_to_serve_self_service, 20 as servicing_cost,
               5 as marketing_cost, 675 + 5 * m as profit, 50 as revenue_per_customer,
               10 as cost_to_serve_per_customer, 40 as interactions, 30 as assisted_interactions,
               2 as campaign_contacts, 1 as products_sold
        from range(0, 12) as t(m)""")
    con.execute("""
        insert into marts.marketing_spend_by_purpose by name
        select month_start, purpose, 10 as customers_contacted, 10 as campaign_contacts, 2 as campaign_responses,
               5.0 as marketing_cost, 0.2 as response_rate, 2.5 as cost_per_response
        from (values (date '2025-02-01'), (date '2025-03-01')) as m(month_start),
             (values ('acquisition'), ('retention')) as p(purpose)""")
    con.execute(f"""
        insert into marts.profitability_decile_migration by name
        select date '2025-02-01' as from_month, date '{AS_OF}' as to_month, d as from_decile,
               case when d = 10 then 0 else d end as to_decile, 2 as customers, 1.0 as share_of_from_decile
        from range(1, 11) as t(d)""")
    con.execute("""
        insert into warehouse.dim_customer by name
        select md5(customer_key) as customer_sk, customer_key, 'bank' as source_system,
               'C' || substr(customer_key, 2) as source_customer_id, 'Ann' as first_name,
               'Person' || substr(customer_key, 2) as last_name, date '1980-05-17' as date_of_birth,
               'F' as gender, 'person' || substr(customer_key, 2) || '@example.com' as email,
               '+44 20 7946 00' || substr(customer_key, 2) as phone, '1 High Street' as address_line1,
               'London' as city, 'E1 6AN' as postcode, region, 'GB' as country, false as has_sentinel_birth_date,
               false as has_invalid_email, false as is_id_only, timestamp '2025-03-31 00:00:00' as valid_from,
               timestamp '9999-12-31 00:00:00' as valid_to, true as is_current
        from marts.customer_profitability""")
    con.execute("""
        insert into warehouse.dim_customer_xref by name
        select source_system, source_customer_id, customer_key, 1.0 as match_probability
        from warehouse.dim_customer
        union all select 'cards', 'X01', 'K01', 0.97
        union all select 'cards', 'X02', 'K02', 0.95
        union all select 'digital', 'D02', 'K02', 0.93""")
    con.execute("""
        insert into warehouse.fct_interactions by name
        select 'I' || i as interaction_key, 'bank' as source_system, 'I' || i as interaction_id,
               'K' || lpad((1 + i % 20)::varchar, 2, '0') as customer_key, 'branch' as channel_id,
               'branch_visit' as interaction_type, timestamp '2025-01-15 10:00:00' as occurred_at,
               date '2025-01-15' as occurred_date, 1 + i % 5 as satisfaction_score
        from range(0, 10) as t(i)""")
    con.execute("""
        insert into warehouse.fct_customer_month by name
        select customer_key, (date '2025-01-01' + to_months(m))::date as month_start, revenue / 12 as revenue,
               direct_cost / 12 as direct_cost, cost_to_serve / 12 as cost_to_serve, 0 as cost_to_serve_assisted,
               0 as cost_to_serve_self_service, 0 as servicing_cost, 0 as marketing_cost,
               (revenue - direct_cost - cost_to_serve) / 12 as profit, 1 as transactions, 1 as interactions,
               products_held, false as is_future_month
        from marts.customer_profitability, range(0, 3) as t(m)""")
    con.execute("""
        insert into marts.data_quality_scores by name
        select s as source_system, d as delivery_date, a as area,
               case when s = 'cards' and a = 'validity' then 80.0 else 100.0 - day(d) end as score
        from (values ('bank'), ('cards')) as x(s), (values (date '2025-03-29'), (date '2025-03-30'),
              (date '2025-03-31')) as y(d),
             (values ('completeness'), ('validity'), ('uniqueness'), ('timeliness'), ('consistency')) as z(a)""")
    con.execute("""
        insert into marts.data_quality_issues values
        ('cards', 'customers', 'date_of_birth', 'sentinel_value', 'validity', 20, 4, 20.0, 1, '2025-03-31',
         '2025-03-31', '1911-11-11', 'date_of_birth 1911-11-11 on 4 of 20 records'),
        ('bank', 'customers', 'email', 'email_format', 'validity', 20, 1, 5.0, 1, '2025-03-31', '2025-03-31',
         'p***@example', null)""")


def _campaigns(con: duckdb.DuckDBPyConnection) -> None:
    """Two past campaigns, holdings and channel use: what the Campaigns page and the Segments filters read.
    C1 (2.00 per contact) contacts K01-K10, holds out K11-K12 as control; K01, K02, K05 respond, and K11 of
    the control group. C2 (1.50) contacts K13-K20; K13 and K17 respond. Every response is worth 100.
    Everyone holds an open current account, even customers a credit card too; K01's mortgage is closed.
    K01-K10 used the branch in the window, K11-K20 the mobile app; K20's branch visit is older than the
    window."""
    con.execute("""
        insert into warehouse.dim_campaign by name
        select * from (values ('CK1', 'bank', 'C1', 'Spring offer', 'mail', date '2025-01-10', 2.00, false),
                              ('CK2', 'bank', 'C2', 'Summer offer', 'mail', date '2025-02-10', 1.50, false))
            t(campaign_key, source_system, campaign_id, campaign_name, channel_id, start_date, cost_per_contact,
              is_unknown_campaign)""")
    con.execute("""
        insert into warehouse.fct_campaign_contacts by name
        select 'CC' || i as campaign_contact_key, 'bank' as source_system,
               case when i <= 12 then 'CK1' else 'CK2' end as campaign_key,
               case when i <= 12 then 'C1' else 'C2' end as campaign_id,
               'K' || lpad(i::varchar, 2, '0') as customer_key, i in (11, 12) as is_control,
               i in (1, 2, 5, 11, 13, 17) as has_responded,
               case when i in (1, 2, 5, 11, 13, 17) then 100.00 end as response_value
        from range(1, 21) as t(i)""")
    con.execute("""
        insert into warehouse.fct_holdings by name
        select 'A' || i || p as account_key, 'bank' as source_system, 'A' || i || p as account_id,
               'K' || lpad(i::varchar, 2, '0') as customer_key, p as product_id,
               timestamp '2020-01-01 00:00:00' as opened_at, not (p = 'mortgage') as is_open
        from range(1, 21) as t(i), (values ('current_account'), ('credit_card'), ('mortgage')) as x(p)
        where p = 'current_account' or (p = 'credit_card' and i % 2 = 0) or (p = 'mortgage' and i = 1)""")
    con.execute("""
        insert into warehouse.fct_customer_month_channel by name
        select 'K' || lpad(i::varchar, 2, '0') as customer_key, date '2025-01-01' as month_start,
               case when i <= 10 then 'branch' else 'mobile' end as channel_id, i <= 10 as is_assisted,
               1 as interactions
        from range(1, 21) as t(i)
        union all select 'K20', date '2023-06-01', 'branch', true, 1""")


def _models(con: duckdb.DuckDBPyConnection) -> None:
    """The segmentation model's and the targeting model's published tables, hand-made."""
    con.execute(f"""
        create table marts.customer_segments as
        select {", ".join(SEGMENT_COLUMNS)} from (
            select 'K' || lpad(i::varchar, 2, '0') as customer_key, date '2025-03-31' as as_of_date,
                   case when i <= 4 then 'Platinum' when i <= 10 then 'Gold' when i <= 16 then 'Iron'
                        else 'Lead' end as value_tier,
                   case when i <= 4 then 1 when i <= 10 then 2 when i <= 16 then 3 else 4 end as tier_rank,
                   i as clv_rank, cast(2100 - 100 * i as double) as clv, cast(1500 - 100 * i as double) as profit,
                   false as is_negative_value, 1500 - 100 * i < 0 as is_unprofitable,
                   cast(i as double) as recency_days, 10 as frequency, 500.0 as monetary, 3 as r_score,
                   3 as f_score, 3 as m_score,
                   case i % 3 when 0 then 'Champions' when 1 then 'At Risk' else 'Hibernating' end as rfm_segment,
                   case when i <= 4 then 'retain' when i <= 16 then 'grow' else 'reduce cost' end as treatment,
                   case when i <= 10 then 0 else 1 end as behaviour_segment_id,
                   case when i <= 10 then 'Branch loyal' else 'Digital' end as behaviour_segment,
                   1 + i % 3 as products_held, i as assisted_interactions, 2 as self_service_interactions,
                   case when i % 2 = 1 then 'London' else 'North West' end as region,
                   case when i <= 10 then 'Urban' else 'Rural' end as geo_segment
            from range(1, {N + 1}) as t(i))""")
    # Gains of a model that ranks well: 100 contacts per decile, responders falling with the score.
    con.execute("""
        create table marts.campaign_lift as
        with d as (
            select cast(d as integer) as decile, 100 as contacted,
                   cast([30, 20, 12, 10, 8, 6, 5, 4, 3, 2][d] as integer) as responders
            from range(1, 11) as t(d)
        )
        select decile, contacted, responders, responders / contacted as response_rate,
               (responders / contacted) / (sum(responders) over () / sum(contacted) over ()) as lift,
               sum(responders) over (order by decile) / sum(responders) over () as cumulative_response_share,
               (sum(responders) over (order by decile) / sum(contacted) over (order by decile))
                   / (sum(responders) over () / sum(contacted) over ()) as cumulative_lift,
               date '2025-03-31' as as_of_date
        from d""")
    con.execute("""
        create table marts.policy_comparison as
        select * from (values
            ('random_1_in_12', 1000.0, 500, 25, 0.05, 200.0, 0.2, date '2025-03-31'),
            ('targeted_expected_value', 1000.0, 500, 60, 0.12, 1400.0, 1.4, date '2025-03-31'))
            t(policy, budget, contacts, responders, response_rate, incremental_profit, roi, as_of_date)""")


def _load_log(con: duckdb.DuckDBPyConnection) -> None:
    create_raw_tables(con)
    con.execute("""
        insert into raw.load_log values
        ('landing/bank/customers/2025-03-31.csv', 'bank', 'customers', '2025-03-31', 'a', 21, 20, 1, 1,
         '2025-03-31 12:00:00', true),
        ('landing/bank/transactions/2025-03-31.csv', 'bank', 'transactions', '2025-03-31', 'b', 100, 97, 3, 0,
         '2025-03-31 12:00:00', true),
        ('landing/cards/customers/2025-03-29.csv', 'cards', 'customers', '2025-03-29', 'c', 20, 20, 0, 0,
         '2025-03-29 12:00:00', true)""")


QUESTIONNAIRE = load_questionnaire()
# Questionnaire answers of the tiny bank: every question 4 but processes 2 and people 3; self-assessed stage 4.
ANSWERS = {**{q: 4 for q in QUESTIONNAIRE.questions}, **{q: 2 for q in (
    "pr_targeting", "pr_control_groups", "pr_channel_shift", "pr_treatments", "pr_review")},
    **{q: 3 for q in ("pe_analysts", "pe_trained", "pe_access", "pe_stewards", "pe_change")}}
ASSESSED_AT = dt.datetime(2025, 3, 20, 10, 0, tzinfo=dt.UTC)


def _maturity(settings: Settings) -> None:
    """The maturity assessment of the tiny bank, by the refresh's own code, with the answers above."""
    write_answers(settings.maturity_answers_path, Answers(ANSWERS, ASSESSED_AT, "ada"), QUESTIONNAIRE)
    maturity_for_warehouse(settings, now=dt.datetime(2025, 4, 1, tzinfo=dt.UTC))


def build_serving(home: Path, extra_sql: str = "", models: bool = True) -> Settings:
    """Write the working warehouse under `home` (with the models' tables, the maturity assessment included,
    unless `models` is false; `extra_sql` runs before the assessment) and publish it; the settings point at it."""
    settings = load_settings(home)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        _create(con)
        _fill(con)
        _campaigns(con)
        if models:
            _models(con)
        _load_log(con)
        if extra_sql:
            con.execute(extra_sql)
    if models:
        _maturity(settings)
    publish(settings, "test-run")
    return settings
