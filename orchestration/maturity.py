"""CRM maturity in the refresh: measure the evidence from the working warehouse (and the dashboards' audit
log), place each capability and the organisation on the five stages (models_ml.maturity.stages), score the
questionnaire's answers (`crmw assess` writes them), and write `marts.maturity_evidence`,
`marts.maturity_assessment`, `marts.maturity_gaps` and `marts.maturity_sponsors`, which publish copies to
the serving database.

Every measure reads only tables the warehouse has; one that is missing (a model not built yet, the targeting
tables of marts.campaign_lift / policy_comparison) leaves its evidence unmeasured, which fails the criteria
that need it, and the refresh goes on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from models_ml.maturity.questionnaire import (
    Answers,
    load_answers,
    load_questionnaire,
    score_sections,
    self_assessed_stage,
)
from models_ml.maturity.stages import (
    DEFAULT_STAGES_PATH,
    Assessment,
    StageRules,
    assess,
    assessment_frame,
    evidence_frame,
    gaps_frame,
    load_stage_rules,
)
from models_ml.maturity.targeting import classify_campaigns
from models_ml.maturity.yamlfile import MaturityFileError
from orchestration.audit import read_events
from orchestration.clv import as_of_date, replace_tables
from orchestration.settings import Settings

EVIDENCE_TABLE, ASSESSMENT_TABLE = "maturity_evidence", "maturity_assessment"
GAPS_TABLE, SPONSORS_TABLE = "maturity_gaps", "maturity_sponsors"
TABLES = (EVIDENCE_TABLE, ASSESSMENT_TABLE, GAPS_TABLE, SPONSORS_TABLE)
USAGE_DAYS = 30  # dashboard users are counted over this many days before the assessment
SEGMENTS_MAX_AGE_DAYS = 31  # value segments older than this before the as-of date are not current
NAIVE_MODEL = "naive_last_period"  # the CLV backtest's baseline (models_ml/clv/customer_value.py)
CONTROL_FLOOR = 0.5  # responders a control group without any is taken to have (the lift's lower bound)


@dataclass(frozen=True)
class MaturityResult:
    evidence: dict[str, object]
    assessment: Assessment
    rules: StageRules
    tables: dict[str, pd.DataFrame]
    answers: Answers | None
    answers_error: str | None
    campaigns: pd.DataFrame  # each campaign's targeted/blanket verdict


# ------------------------------------------------------------------------------------------------ helpers
def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchall()[0][0] > 0


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    return con.execute(sql, params or []).fetchall()[0]


def _day(value: object) -> dt.date | None:
    """A DATE or TIMESTAMP column's value as a date."""
    return value.date() if isinstance(value, dt.datetime) else value


def _share(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else float(part) / float(whole)


def _shared_identifier_share(con: duckdb.DuckDBPyConnection, table: str, unit: str, where: str) -> float | None:
    """Share of the units (records or customers) of `table` that another unit matches exactly on a strong
    identifier: the national id, or a valid email with the same (real) birth date. An email alone is not one:
    different people share one (a family's; a common name's, like olivia_smith@gmail.com in the demo).
    `table`, `unit` and `where` are fixed in this module, never user input."""
    units, shared = _one(con, f"""
        with units as (
            select {unit} as unit_id,
                   case when not coalesce(has_invalid_email, false) and trim(coalesce(email, '')) <> ''
                             and date_of_birth is not null and not coalesce(has_sentinel_birth_date, false)
                        then 'email:' || lower(trim(email)) || '|' || cast(date_of_birth as varchar) end as email_id,
                   case when trim(coalesce(national_id, '')) <> ''
                        then 'national_id:' || upper(replace(trim(national_id), ' ', '')) end as national_id
            from {table}
            where {where}
        ),
        ids as (
            select unit_id, email_id as identifier from units where email_id is not null
            union all
            select unit_id, national_id from units where national_id is not null
        ),
        shared as (
            select identifier from ids group by identifier having count(distinct unit_id) > 1
        )
        select (select count(distinct unit_id) from units),
               (select count(distinct unit_id) from ids where identifier in (select identifier from shared))""")
    return _share(shared, units)


# ------------------------------------------------------------------------------------------------ measures
def _customer_store(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    out: dict[str, object] = {"source_systems": None, "customer_source_systems": None, "customers": None,
                              "customer_records": None, "cross_system_customer_share": None,
                              "duplicate_rate_before": None, "duplicate_rate_after": None}
    if _exists(con, "raw", "load_log"):
        out["source_systems"] = _one(con, "select count(distinct source_system) from raw.load_log "
                                          "where is_current and rows_loaded > 0")[0]
    if _exists(con, "warehouse", "dim_customer_xref"):
        systems, customers, records, several = _one(con, """
            with per_customer as (
                select customer_key, count(distinct source_system) as systems
                from warehouse.dim_customer_xref group by customer_key
            )
            select (select count(distinct source_system) from warehouse.dim_customer_xref),
                   count(*), (select count(*) from warehouse.dim_customer_xref),
                   count(*) filter (where systems >= 2)
            from per_customer""")
        out.update(customer_source_systems=systems, customers=customers, customer_records=records,
                   cross_system_customer_share=_share(several, customers))
    # Before: source records (ods.int_customers_conformed) matching another record on a strong identifier;
    # after: golden customers (warehouse.dim_customer, current) matching another customer.
    if _exists(con, "ods", "int_customers_conformed"):
        out["duplicate_rate_before"] = _shared_identifier_share(
            con, "ods.int_customers_conformed", "source_system || '|' || customer_id", "true")
    if _exists(con, "warehouse", "dim_customer"):
        out["duplicate_rate_after"] = _shared_identifier_share(con, "warehouse.dim_customer", "customer_key",
                                                               "is_current")
    return out


def _data_quality(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    if not _exists(con, "marts", "data_quality_scores"):
        return {"dq_score_mean": None, "dq_score_min": None}
    # Averages over exact decimals: a sum of doubles depends, in its last bits, on the order a parallel
    # aggregate adds them, and a re-run then published a different maturity_evidence (test_refresh).
    mean, low = _one(con, """
        with per_area as (
            select source_system, area, avg(cast(score as decimal(18, 6))) as score
            from marts.data_quality_scores where score is not null group by source_system, area
        )
        select avg(cast(score as decimal(18, 6))), min(score) from per_area""")
    return {"dq_score_mean": mean, "dq_score_min": low}


def _profitability(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, object]:
    out: dict[str, object] = {"cost_to_serve_revenue_share": None, "profit_deciles_current": False,
                              "value_segments_current": False, "treatment_share": None}
    if _exists(con, "marts", "customer_profitability") and _exists(con, "warehouse", "fct_customer_month"):
        (out["cost_to_serve_revenue_share"],) = _one(con, """
            with window_months as (
                select min(window_start_month) as first_month, max(as_of_month) as last_month
                from marts.customer_profitability
            ),
            months as (  -- revenue stays decimal: its sums are exact, so do not depend on the order of addition
                select m.revenue,
                       coalesce(m.unpriced_interactions, 0) + coalesce(m.unpriced_holdings, 0)
                           + coalesce(m.unpriced_contacts, 0) = 0 as is_costed
                from warehouse.fct_customer_month as m, window_months as w
                where m.month_start between w.first_month and w.last_month and not coalesce(m.is_future_month, false)
            )
            select case when sum(revenue) > 0
                        then cast(sum(revenue) filter (where is_costed) as double) / cast(sum(revenue) as double) end
            from months""")
    month = as_of.replace(day=1)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    if _exists(con, "marts", "profitability_deciles"):
        (latest,) = _one(con, "select max(as_of_month) from marts.profitability_deciles")
        out["profit_deciles_current"] = latest is not None and _day(latest) >= previous
    try:  # the segmentation model's table; without the columns it is not measured
        latest, customers, treated = _one(con, "select max(as_of_date), count(*), count(treatment) "
                                                "from marts.customer_segments")
    except (duckdb.CatalogException, duckdb.BinderException):
        return out
    out["value_segments_current"] = latest is not None and _day(latest) >= as_of - dt.timedelta(
        days=SEGMENTS_MAX_AGE_DAYS)
    out["treatment_share"] = _share(treated, customers)
    return out


def campaign_decile_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per campaign and current profit decile: customers who could be contacted (known in a month up to the
    campaign's start) and those contacted (control group excluded)."""
    return con.execute("""
        with known as (
            select customer_key, min(month_start) as first_month
            from warehouse.fct_customer_month group by customer_key
        ),
        campaigns as (
            select campaign_key, min(start_date) as start_date from warehouse.dim_campaign group by campaign_key
        ),
        base as (
            select c.campaign_key, p.profit_decile, p.customer_key
            from campaigns as c
            join marts.customer_profitability as p on true
            join known as k on k.customer_key = p.customer_key
            where k.first_month <= c.start_date
        ),
        contacted as (
            select distinct campaign_key, customer_key from warehouse.fct_campaign_contacts
            where not coalesce(is_control, false)
        )
        select b.campaign_key as campaign, b.profit_decile as decile, count(*) as base,
               count(c.customer_key) as contacted
        from base as b
        left join contacted as c on c.campaign_key = b.campaign_key and c.customer_key = b.customer_key
        where b.campaign_key in (select campaign_key from contacted)
        group by 1, 2 order by 1, 2""").df()


def _lift(con: duckdb.DuckDBPyConnection, campaigns: list[str] | None) -> float | None:
    """Response rate of the contacted customers over the control group's, pooled over the campaigns (of
    `campaigns`, or all) that held out a control group; None without one. A control group with no responder
    counts half a responder (CONTROL_FLOOR), so the lift stays finite: a lower bound, not infinity."""
    if campaigns is not None and not campaigns:
        return None
    keys = "" if campaigns is None else f"and campaign_key in ({', '.join('?' for _ in campaigns)})"
    contacted_rate, controls, control_responders = _one(con, f"""
        with with_controls as (
            select campaign_key from warehouse.fct_campaign_contacts
            group by campaign_key having count(*) filter (where is_control) > 0
        )
        select avg(case when has_responded then 1.0 else 0.0 end) filter (where not is_control),
               count(*) filter (where is_control),
               count(*) filter (where is_control and has_responded)
        from warehouse.fct_campaign_contacts
        where campaign_key in (select campaign_key from with_controls) {keys}""", campaigns or [])
    if contacted_rate is None or not controls:
        return None
    return float(contacted_rate) / (max(control_responders, CONTROL_FLOOR) / controls)


def _targeting(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, object], pd.DataFrame]:
    out: dict[str, object] = {"campaign_contacts": None, "control_group_share": None,
                              "targeted_contact_share": None, "campaign_lift": None, "targeted_campaign_lift": None,
                              "targeting_model_lift": None, "targeting_beats_random": None}
    verdicts = classify_campaigns(pd.DataFrame(columns=["campaign", "decile", "base", "contacted"]))
    if _exists(con, "warehouse", "fct_campaign_contacts"):
        contacts, controls = _one(con, "select count(*) filter (where not coalesce(is_control, false)), "
                                       "count(*) filter (where is_control) from warehouse.fct_campaign_contacts")
        out.update(campaign_contacts=contacts, control_group_share=_share(controls, contacts + controls),
                   campaign_lift=_lift(con, None))
        if all(_exists(con, s, t) for s, t in (("warehouse", "dim_campaign"), ("marts", "customer_profitability"),
                                               ("warehouse", "fct_customer_month"))):
            verdicts = classify_campaigns(campaign_decile_counts(con))
            targeted = verdicts.loc[verdicts["is_targeted"], "campaign"].tolist()
            (in_targeted,) = _one(con, f"""
                select count(*) from warehouse.fct_campaign_contacts
                where not coalesce(is_control, false)
                  and campaign_key in ({', '.join('?' for _ in targeted) or 'null'})""", targeted)
            out["targeted_contact_share"] = _share(in_targeted, contacts)
            out["targeted_campaign_lift"] = _lift(con, targeted)
    # The targeting model's tables (another part of the product): read them when they are published.
    try:
        row = con.execute("select max(lift) from marts.campaign_lift where decile = 1").fetchall()
        out["targeting_model_lift"] = row[0][0]
    except duckdb.Error:
        pass
    try:
        policies = dict(con.execute("select policy, incremental_profit from marts.policy_comparison").fetchall())
        if {"random_1_in_12", "targeted_expected_value"} <= set(policies):
            out["targeting_beats_random"] = policies["targeted_expected_value"] > policies["random_1_in_12"]
    except duckdb.Error:
        pass
    return out, verdicts


def _enrichment(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    if not (_exists(con, "warehouse", "dim_customer") and _exists(con, "warehouse", "dim_geography")):
        return {"geo_enrichment_share": None}
    customers, enriched = _one(con, """
        select count(distinct c.customer_key),
               count(distinct c.customer_key) filter (where g.geo_segment is not null)
        from warehouse.dim_customer as c
        left join warehouse.dim_geography as g on g.postcode_key = c.postcode_key
        where c.is_current""")
    return {"geo_enrichment_share": _share(enriched, customers)}


def _models(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    out: dict[str, object] = {"predictive_model_published": False, "model_beats_baseline": None}
    if _exists(con, "marts", "customer_clv"):
        out["predictive_model_published"] = _one(con, "select count(*) from marts.customer_clv")[0] > 0
    try:  # the CLV model's backtest; without the columns it is not measured
        metrics = con.execute("select model_name, metric, value from marts.model_metrics "
                              "where metric in ('published', 'profit_mae')").df()
    except (duckdb.CatalogException, duckdb.BinderException):
        metrics = None
    if metrics is not None:
        published = metrics.query("metric == 'published' and value == 1")["model_name"].tolist()
        mae = metrics.query("metric == 'profit_mae'").set_index("model_name")["value"]
        if published:
            model = published[0]
            out["model_beats_baseline"] = bool(model != NAIVE_MODEL and model in mae and NAIVE_MODEL in mae
                                               and mae[model] < mae[NAIVE_MODEL])
    return out


def _usage(events: pd.DataFrame, now: dt.datetime) -> dict[str, object]:
    recent = events[events["event_time"] >= pd.Timestamp(now - dt.timedelta(days=USAGE_DAYS))]
    return {"dashboard_users_30d": int(recent["user_name"].nunique()),
            "dashboard_roles_30d": int(recent["role"].nunique())}


def measure_evidence(con: duckdb.DuckDBPyConnection, as_of: dt.date, events: pd.DataFrame, now: dt.datetime
                     ) -> tuple[dict[str, object], pd.DataFrame]:
    """Every evidence value (None where it cannot be measured) and each campaign's targeting verdict.
    `events` is the audit log (orchestration.audit.read_events); usage counts the USAGE_DAYS before `now`."""
    evidence: dict[str, object] = {}
    evidence.update(_customer_store(con))
    evidence.update(_data_quality(con))
    evidence.update(_profitability(con, as_of))
    targeting, verdicts = _targeting(con)
    evidence.update(targeting)
    evidence.update(_enrichment(con))
    evidence.update(_models(con))
    evidence.update(_usage(events, now))
    return evidence, verdicts


# ------------------------------------------------------------------------------------------------ refresh
def stage_rules(settings: Settings) -> StageRules:
    """The user's copy of the stage rules ($CRMW_HOME/maturity/stages.yaml) or the packaged ones."""
    path = settings.maturity_rules_path
    return load_stage_rules(path if path.exists() else DEFAULT_STAGES_PATH)


def read_answers(settings: Settings, questionnaire) -> tuple[Answers | None, str | None]:
    """The answers `crmw assess` wrote, or None; a file that cannot be read gives its error instead (the
    refresh goes on without the sponsors' scores, and says why)."""
    path = settings.maturity_answers_path
    if not path.exists():
        return None, None
    try:
        return load_answers(path, questionnaire), None
    except MaturityFileError as exc:
        return None, str(exc)


def sponsors_frame(questionnaire, answers: Answers | None, error: str | None) -> pd.DataFrame:
    frame = score_sections(questionnaire, answers)
    frame["answered_at"] = pd.Timestamp(answers.assessed_at).tz_convert(None) \
        if answers and answers.assessed_at else pd.NaT
    frame["answered_by"] = answers.assessed_by if answers else None
    frame["self_assessed_stage"] = pd.array([self_assessed_stage(answers)] * len(frame), dtype="Int64")
    frame["note"] = error or (None if answers else "no answers yet: run `crmw assess`")
    return frame


def maturity_tables(evidence: dict[str, object], rules: StageRules, as_of: dt.date, sponsors: pd.DataFrame
                    ) -> tuple[Assessment, dict[str, pd.DataFrame]]:
    """The four tables, each stamped with the as-of date only (no wall-clock time): re-running a day whose
    files did not change publishes the same tables, unless the dashboards were used in between."""
    result = assess(evidence, rules)
    tables = {
        EVIDENCE_TABLE: evidence_frame(evidence, rules),
        ASSESSMENT_TABLE: assessment_frame(result, evidence, rules),
        GAPS_TABLE: gaps_frame(result, evidence, rules),
        SPONSORS_TABLE: sponsors,
    }
    for name, frame in tables.items():
        for column in frame.select_dtypes(include="object").columns:  # text, also when empty or all null
            frame[column] = frame[column].astype("string")
        frame.insert(0, "as_of_date", as_of)
        tables[name] = frame
    return result, tables


def maturity_for_warehouse(settings: Settings, range_end: dt.date | None = None,
                           now: dt.datetime | None = None, warehouse: Path | None = None) -> MaturityResult:
    """Measure, assess and write the four maturity tables into the working warehouse's marts schema."""
    now = now or dt.datetime.now(dt.UTC)
    rules = stage_rules(settings)
    questionnaire = load_questionnaire()
    answers, error = read_answers(settings, questionnaire)
    events = read_events(settings, since=now - dt.timedelta(days=USAGE_DAYS))  # all _usage looks at
    with duckdb.connect(str(warehouse or settings.warehouse_path)) as con:
        as_of = as_of_date(con, range_end)
        evidence, verdicts = measure_evidence(con, as_of, events, now)
        result, tables = maturity_tables(evidence, rules, as_of, sponsors_frame(questionnaire, answers, error))
        replace_tables(con, tables)
    return MaturityResult(evidence, result, rules, tables, answers, error, verdicts)
