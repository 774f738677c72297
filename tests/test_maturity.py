"""CRM maturity: stage rules on hand-made evidence, the questionnaire and its answers files (round trip,
clear errors), evidence measured on a tiny hand-made warehouse with exact values, the refresh's tables,
`crmw assess`, and the dashboards' usage audit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models_ml.maturity.questionnaire import (
    Answers,
    load_answers,
    load_questionnaire,
    parse_answer,
    score_sections,
    self_assessed_stage,
    write_answers,
)
from models_ml.maturity.stages import (
    assess,
    assessment_frame,
    evidence_frame,
    format_value,
    gaps_frame,
    load_stage_rules,
)
from models_ml.maturity.yamlfile import MaturityFileError

RULES = load_stage_rules()
QUESTIONNAIRE = load_questionnaire()

# Evidence of an organisation at stage 5 in everything.
ADVANCED = {
    "source_systems": 6, "customer_source_systems": 5, "customers": 1000, "customer_records": 1400,
    "cross_system_customer_share": 0.3, "duplicate_rate_before": 0.2, "duplicate_rate_after": 0.001,
    "dq_score_mean": 95.0, "dq_score_min": 70.0, "cost_to_serve_revenue_share": 1.0,
    "profit_deciles_current": True, "value_segments_current": True, "treatment_share": 1.0,
    "campaign_contacts": 5000, "control_group_share": 0.1, "targeted_contact_share": 0.9, "campaign_lift": 2.0,
    "targeted_campaign_lift": 2.1, "targeting_model_lift": 3.0, "targeting_beats_random": True,
    "geo_enrichment_share": 0.95,
    "predictive_model_published": True, "model_beats_baseline": True, "dashboard_users_30d": 12,
    "dashboard_roles_30d": 4,
}


def stages_of(evidence: dict) -> tuple[int, dict[str, int]]:
    result = assess(evidence, RULES)
    return result.stage, {c.id: c.stage for c in result.capabilities}


# ------------------------------------------------------------------------------------------------ stage rules
def test_everything_measured_and_met_is_stage_five():
    result = assess(ADVANCED, RULES)
    assert stages_of(ADVANCED) == (5, {"customer_data_store": 5, "profitability_segmentation": 5,
                                       "campaign_targeting": 5, "analytics_access": 5})
    assert result.gaps == () and all(c.gaps == () for c in result.capabilities)


def test_nothing_measured_is_pre_crm_planning_with_the_stage_two_actions():
    result = assess({k: None for k in RULES.evidence}, RULES)
    assert stages_of({k: None for k in RULES.evidence})[0] == 1
    assert {c.stage for c in result.capabilities} == {1}
    # Stage 2 needs the capabilities central to stage 2 or before: only the customer data store.
    assert [g.requirement for g in result.gaps] == ["Source systems integrated at least 1"]
    assert result.gaps[0].action.startswith("Deliver the operational systems' files")


def test_a_blanket_mailer_without_dashboard_users_is_partly_developed():
    """The demo bank's shape: data store and profitability in place, campaigns mailed at random, nobody on
    the dashboards, the naive model published."""
    evidence = {**ADVANCED, "targeted_contact_share": 0.0, "targeted_campaign_lift": None,
                "targeting_model_lift": None, "model_beats_baseline": False, "dashboard_users_30d": 0,
                "dashboard_roles_30d": 0}
    result = assess(evidence, RULES)
    assert stages_of(evidence) == (3, {"customer_data_store": 5, "profitability_segmentation": 5,
                                       "campaign_targeting": 3, "analytics_access": 2})
    targeting = result.capability("campaign_targeting")
    assert [(g.stage, g.evidence) for g in targeting.gaps] == [(4, ("targeted_contact_share",))]
    # The overall gap to stage 4: only capabilities central to stage 4 or before count, so not analytics.
    assert [(g.capability, g.stage) for g in result.gaps] == [("campaign_targeting", 4)]
    assert result.gaps[0].requirement == "Share of campaign contacts in targeted (not blanket) campaigns at least 50.0%"
    assert "targeting model's lists" in result.gaps[0].action
    # A targeting model that ranks well is readiness, not practice: the stage stays while contacts are blanket.
    assert stages_of({**evidence, "targeting_model_lift": 1.8})[1]["campaign_targeting"] == 3


def test_any_of_criteria_need_one_alternative(tmp_path):
    """A rules copy where a targeting model with lift 1.5 may stand in for targeted contacts at stage 4."""
    old = ("        - evidence: targeted_contact_share\n          at_least: 0.5\n")
    new = ("        - any_of:\n            - evidence: targeted_contact_share\n              at_least: 0.5\n"
           "            - evidence: targeting_model_lift\n              at_least: 1.5\n")
    rules = load_stage_rules(_rules_file(tmp_path, old, new))
    blanket = {**ADVANCED, "targeted_contact_share": 0.0, "targeting_model_lift": 1.8}
    result = assess(blanket, rules)
    assert result.capability("campaign_targeting").stage == 4
    assert assess({**blanket, "targeting_model_lift": None}, rules).capability("campaign_targeting").stage == 3
    gap = assess({**blanket, "targeting_model_lift": 1.2}, rules).capability("campaign_targeting").gaps[0]
    assert gap.requirement == ("Share of campaign contacts in targeted (not blanket) campaigns at least 50.0% or "
                               "Lift of the targeting model's top score decile at least 1.50")
    assert gap.evidence == ("targeted_contact_share", "targeting_model_lift")


def test_stages_are_cumulative_and_the_weakest_early_capability_caps_the_overall_stage():
    # Stage 4 criteria met but a stage 3 one failing: the capability stays at 2.
    evidence = {**ADVANCED, "control_group_share": 0.0}
    assert stages_of(evidence)[1]["campaign_targeting"] == 2
    # ...and the overall stage counts a capability only from its central stage on: targeting (central to 4)
    # at 2 stops the organisation at 3, not 2.
    assert stages_of(evidence)[0] == 3
    # Duplicates left after resolution: the data store (central to stage 2) drops to 3, the overall too.
    assert stages_of({**ADVANCED, "duplicate_rate_after": 0.05}) == (3, {
        "customer_data_store": 3, "profitability_segmentation": 5, "campaign_targeting": 5, "analytics_access": 5})
    # A missing measurement fails its criterion, a boundary value passes `at_least`.
    assert stages_of({**ADVANCED, "dq_score_mean": None})[1]["customer_data_store"] == 3
    assert stages_of({**ADVANCED, "dq_score_mean": 90.0})[1]["customer_data_store"] == 5
    assert stages_of({**ADVANCED, "dq_score_mean": 89.99})[1]["customer_data_store"] == 4


def test_evidence_must_match_the_catalogue():
    with pytest.raises(ValueError, match="missing dashboard_roles_30d"):
        assess({k: v for k, v in ADVANCED.items() if k != "dashboard_roles_30d"}, RULES)
    with pytest.raises(ValueError, match="unknown dashbord_users"):
        assess({**ADVANCED, "dashbord_users": 3}, RULES)


def test_frames_carry_stage_names_evidence_gaps_and_actions():
    evidence = {**ADVANCED, "dashboard_users_30d": 2, "model_beats_baseline": False}
    result = assess(evidence, RULES)
    table = assessment_frame(result, evidence, RULES).set_index("capability_id")
    assert table.loc["analytics_access", "stage"] == 3
    assert table.loc["analytics_access", "stage_name"] == "Partly developed CRM"
    assert table.loc["analytics_access", "next_stage_name"] == "Well developed CRM"
    assert table.loc["analytics_access", "gaps"] == 2
    assert "Distinct dashboard users in the last 30 days: 2" in table.loc["analytics_access", "evidence"]
    assert table.loc["overall", "stage"] == 4 and table.loc["overall", "scope"] == "overall"
    assert table.loc["customer_data_store", "next_stage"] is pd.NA
    gaps = gaps_frame(result, evidence, RULES)
    assert gaps.query("scope == 'capability'")["measured"].tolist() == [
        "The published model beats the naive baseline in the backtest: no",
        "Distinct dashboard users in the last 30 days: 2"]
    # To reach 5 overall, analytics must pass its stage-4 criteria and then its stage-5 one (ten users).
    assert gaps.query("scope == 'overall'")["stage_needed"].tolist() == [4, 4, 5]
    frame = evidence_frame(evidence, RULES).set_index("evidence_key")
    assert frame.loc["model_beats_baseline", "value"] == 0.0
    assert frame.loc["geo_enrichment_share", "value_text"] == "95.0%"
    assert frame.loc["dashboard_users_30d", "used_by"] == "analytics_access"
    assert format_value(None, "share") == "not measured" and format_value(1234.4, "count") == "1,234"
    assert format_value(2 / 25427, "share") == "0.008%" and format_value(0, "share") == "0.0%"


def _rules_file(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path(RULES.path)).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "stages.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("evidence: dq_score_mean\n          at_least: 80", "evidence: dq_scor_mean\n          at_least: 80",
     "dq_scor_mean", "evidence 'dq_scor_mean' is not in the evidence catalogue"),
    ("evidence: value_segments_current\n          is: true", "evidence: value_segments_current\n          is: 3",
     "is: 3", "`is` needs a flag evidence and true/false"),
    ("at_least: 0.95\n", "at_least: lots\n", "at_least: lots", "`at_least` needs a number"),
    ("central_stage: 4", "central_stage: 7", "central_stage: 7", "central_stage must be 2, 3, 4 or 5"),
    ("  customers: {label", "  source_systems: {label", "  source_systems: {label: Customers (after",
     "duplicate key 'source_systems'"),
    ("unit: ratio}", "unit: percent}", "unit: percent", "unit 'percent' is not one of"),
    ('"Data-quality score, worst source system and area (0-100)"',
     "Data-quality score, worst source system and area (0-100)", "label: Data-quality score, worst",
     "give exactly a label and a unit, got label, worst source system and area (0-100), unit (quote a label"),
])
def test_bad_stage_rules_name_file_and_line(tmp_path, old, new, needle, message):
    path = _rules_file(tmp_path, old, new)
    with pytest.raises(MaturityFileError) as info:
        load_stage_rules(path)
    assert str(info.value).startswith(f"{path}:{_line_of(path, needle)}: "), str(info.value)
    assert message in str(info.value)


def test_stage_rules_that_are_not_yaml(tmp_path):
    path = tmp_path / "stages.yaml"
    path.write_text("stages:\n  1: {name: x\n", encoding="utf-8")
    with pytest.raises(MaturityFileError, match=rf"^{path}:3:1: not valid YAML"):
        load_stage_rules(path)
    with pytest.raises(MaturityFileError, match="no such file"):
        load_stage_rules(tmp_path / "missing.yaml")


# ------------------------------------------------------------------------------------------------ questionnaire
def test_questionnaire_has_the_four_sponsors_and_the_readiness_audit():
    assert [s.name for s in QUESTIONNAIRE.sections] == [
        "Leadership and culture", "Data and IT", "People", "Processes", "Readiness audit"]
    assert [s.id for s in QUESTIONNAIRE.sponsors] == ["leadership_culture", "data_it", "people", "processes"]
    assert len(QUESTIONNAIRE.questions) == 26
    assert QUESTIONNAIRE.questions["ra_self_assessed_stage"].choices[3] == "Partly developed CRM"


def answers_of(values: dict[str, int]) -> Answers:
    return Answers(values, dt.datetime(2026, 12, 3, 8, 30, tzinfo=dt.UTC), 'Ann "the analyst" O\'Neil')


def test_scores_per_sponsor_exact():
    # Leadership: 5, 5, 1, 3, 4 -> (1 + 1 + 0 + 0.5 + 0.75) / 5 = 65; Data and IT all 3 -> 50;
    # People only two answered (1 and 2) -> 12.5; Processes unanswered; the self-assessed stage is not scored.
    values = {"lc_vision": 5, "lc_sponsor": 5, "lc_value_over_volume": 1, "lc_decisions_on_data": 3,
              "lc_low_value_options": 4, "pe_analysts": 1, "pe_trained": 2, "ra_self_assessed_stage": 4,
              **{q: 3 for q in ("di_single_view", "di_quality_owned", "di_costs_captured", "di_external_data",
                                "di_refresh")}}
    scores = score_sections(QUESTIONNAIRE, answers_of(values)).set_index("section_id")
    assert scores["score"].round(6).to_dict() == pytest.approx(
        {"leadership_culture": 65.0, "data_it": 50.0, "people": 12.5, "processes": float("nan"),
         "readiness": float("nan")}, nan_ok=True)
    assert scores["answered"].to_dict() == {"leadership_culture": 5, "data_it": 5, "people": 2, "processes": 0,
                                            "readiness": 0}
    assert scores["questions"].tolist() == [5, 5, 5, 5, 5]
    assert self_assessed_stage(answers_of(values)) == 4


def test_answers_round_trip(tmp_path):
    values = {q.id: min(q.choices) + i % len(q.choices) for i, q in enumerate(QUESTIONNAIRE.questions.values())}
    del values["pr_review"]  # unanswered: written as null, read back absent
    answers = answers_of(values)
    path = write_answers(tmp_path / "answers.yaml", answers, QUESTIONNAIRE)
    again = load_answers(path, QUESTIONNAIRE)
    assert again == answers
    assert "  pr_review: null" in path.read_text(encoding="utf-8")
    write_answers(path, again, QUESTIONNAIRE)
    assert load_answers(path, QUESTIONNAIRE) == answers
    # A file someone typed by hand: an unquoted timestamp, no name.
    path.write_text("assessed_at: 2026-12-01 09:00:00\nanswers:\n  lc_vision: 2\n", encoding="utf-8")
    typed = load_answers(path, QUESTIONNAIRE)
    assert (typed.values, typed.assessed_at, typed.assessed_by) == (
        {"lc_vision": 2}, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), None)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("answers:\n  lc_vision: 4\n  lc_visoin: 3\n", 3, "question 'lc_visoin' is not in questionnaire.yaml"),
    ("answers:\n  lc_vision: 7\n", 2, "question lc_vision: answer 7 is not one of 1 Not at all, 2 In a few places"),
    ("answers:\n  lc_vision: yes\n", 2, "question lc_vision: answer True is not one of"),
    ("answers:\n  lc_vision: 2\n  lc_vision: 3\n", 3, "duplicate key 'lc_vision' (first at line 2)"),
    ("assessed_at: last tuesday\nanswers: {}\n", 1, "assessed_at 'last tuesday' is not an ISO 8601"),
    ("answer:\n  lc_vision: 2\n", 1, "unknown key 'answer'"),
    ("answers: [1, 2]\n", 1, "`answers` must map question ids"),
    ("answers:\n  lc_vision: 2\n   bad indent: 1\n", 3, "not valid YAML"),
])
def test_bad_answers_files_name_file_line_and_question(tmp_path, text, line, message):
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MaturityFileError) as info:
        load_answers(path, QUESTIONNAIRE)
    assert str(info.value).startswith(f"{path}:{line}"), str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("      - id: pe_trained", "      - id: pe_analysts", "      - id: pe_analysts\n",
     "question pe_analysts is defined twice"),
    ("  - id: people\n    name: People\n    sponsor: true", "  - id: people\n    name: People\n    sponsor: maybe",
     "sponsor: maybe", "section people: sponsor must be true or false"),
    ("          5: Fully advanced CRM", "          five: Fully advanced CRM", "five: Fully",
     "question ra_self_assessed_stage: choice 'five' is not a whole number"),
    ("        scored: false", "        scored: false\n        weight: -2", "weight: -2",
     "question ra_self_assessed_stage: weight must be a positive number"),
])
def test_bad_questionnaires_name_file_line_and_question(tmp_path, old, new, needle, message):
    text = QUESTIONNAIRE.path.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "questionnaire.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MaturityFileError) as info:
        load_questionnaire(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if needle.endswith("\n"):  # the second of two equal lines
        line = [i for i, t in enumerate(lines, 1) if t == needle.rstrip("\n")][1]
    else:
        line = next(i for i, t in enumerate(lines, 1) if needle in t)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)
    assert message in str(info.value)


def test_a_questionnaire_needs_three_sponsors(tmp_path):
    text = QUESTIONNAIRE.path.read_text(encoding="utf-8")
    path = tmp_path / "questionnaire.yaml"
    path.write_text(text.replace("sponsor: true", "sponsor: false", 2), encoding="utf-8")
    with pytest.raises(MaturityFileError, match="needs at least 3 sponsor sections"):
        load_questionnaire(path)


def test_parse_answer_accepts_typed_numbers_only_among_the_choices():
    question = QUESTIONNAIRE.questions["lc_vision"]
    assert parse_answer(question, " 4 ") == 4 and parse_answer(question, 1) == 1
    for bad in ("0", "6", "four", "", True, 2.5):
        with pytest.raises(ValueError, match="is not one of 1 Not at all"):
            parse_answer(question, bad)


# ------------------------------------------------------------------------------------------------ targeting
def test_blanket_and_targeted_campaigns_are_told_apart():
    # 1,000 customers per decile. "blanket" contacts 1 in 12 everywhere with chance-sized wobbles; "big" is a
    # huge random mailing whose small wobble is significant but not large; "targeted" favours deciles 1-3.
    rows = []
    for d in range(1, 11):
        rows.append(("blanket", d, 1000, 83 + (d % 3) * 4))
        rows.append(("big", d, 100_000, 8_000 + 100 * d))
        rows.append(("targeted", d, 1000, 200 if d <= 3 else 40))
    counts = pd.DataFrame(rows, columns=["campaign", "decile", "base", "contacted"])
    from models_ml.maturity.targeting import classify_campaigns

    out = classify_campaigns(counts).set_index("campaign")
    assert out["is_targeted"].to_dict() == {"big": False, "blanket": False, "targeted": True}
    assert out.loc["big", "p_value"] < 1e-10 and out.loc["big", "rate_ratio"] == pytest.approx(9000 / 8100)
    assert out.loc["targeted", "rate_ratio"] == pytest.approx(5.0)
    assert out.loc["blanket", "contacted"] == 10 * 83 + 4 * (4 * 1 + 3 * 2)


# ------------------------------------------------------------------------------------------------ evidence
# The tiny bank of tests/dashboard_db.py (20 customers K01..K20, two per profit decile, bank and cards loads,
# two past campaigns, the targeting model's tables), plus: source records before resolution (K01's bank and
# cards records share an email and birth date; two records of K02 share a national id written two ways),
# golden K03 given K01's email (a duplicate left), a geography for 15 customers' postcodes (K16, K17's postcode
# has no segment), one month of K01 with an unpriced interaction, and a CLV model that beats the baseline.
EXTRA_SQL = """
create schema ods;
create table ods.int_customers_conformed as
select x.source_system, x.source_customer_id as customer_id,
       case when x.source_customer_id = 'X01' then 'Person01@Example.com '
            when x.source_system = 'bank' then 'person' || substr(x.customer_key, 2) || '@example.com' end as email,
       false as has_invalid_email, date '1980-05-17' as date_of_birth, false as has_sentinel_birth_date,
       case x.source_customer_id when 'X02' then 'ab 12' when 'D02' then 'AB12' end as national_id
from warehouse.dim_customer_xref as x;
update warehouse.dim_customer set email = 'person01@example.com' where customer_key = 'K03';
create table warehouse.dim_geography (postcode_key varchar, postcode varchar, geo_segment varchar,
                                      latitude double, longitude double, source_system varchar);
insert into warehouse.dim_geography values ('PK1', 'E1 6AN', 'Urban', 51.5, -0.07, 'geo'),
                                           ('PK2', 'M1 1AA', null, 53.5, -2.2, 'geo');
update warehouse.dim_customer set postcode_key = case when customer_key <= 'K15' then 'PK1'
                                                      when customer_key <= 'K17' then 'PK2' end;
update warehouse.fct_customer_month set unpriced_interactions = 1
where customer_key = 'K01' and month_start = date '2025-02-01';
create table marts.customer_clv as select 'K01' as customer_key, 100.0 as clv;
create table marts.model_metrics as select * from (values
    ('hist_gradient_boosting', 'published', 1.0), ('hist_gradient_boosting', 'profit_mae', 100.0),
    ('naive_last_period', 'published', 0.0), ('naive_last_period', 'profit_mae', 120.0)) t(model_name, metric, value);
"""
NOW = dt.datetime(2025, 4, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tiny_bank(tmp_path_factory):
    from dashboard_db import build_serving

    from orchestration.audit import record_event

    settings = build_serving(tmp_path_factory.mktemp("maturity_home"), extra_sql=EXTRA_SQL)
    for user, role, days in [("ann", "analyst", 1), ("bob", "admin", 10), ("ann", "analyst", 29.9),
                             ("carl", "executive", 31)]:
        record_event(settings, user=user, role=role, action="page_view", page="/", at=NOW - dt.timedelta(days=days))
    return settings


def test_evidence_on_the_tiny_bank_exact(tiny_bank):
    from orchestration.maturity import maturity_for_warehouse

    result = maturity_for_warehouse(tiny_bank, now=NOW)
    assert result.evidence == pytest.approx({
        "source_systems": 2, "customer_source_systems": 3, "customers": 20, "customer_records": 23,
        "cross_system_customer_share": 2 / 20,  # K01 (bank, cards), K02 (bank, cards, digital)
        "duplicate_rate_before": 4 / 23,  # C01 + X01 (email and birth date), X02 + D02 (national id)
        "duplicate_rate_after": 2 / 20,  # K01 and K03
        "dq_score_mean": 71.0, "dq_score_min": 70.0,  # bank 70 in every area; cards 80 in validity, else 70
        "cost_to_serve_revenue_share": 1 - 165 / 8950,  # K01's February revenue (1980 / 12) uncosted
        "profit_deciles_current": True, "value_segments_current": True, "treatment_share": 1.0,
        "campaign_contacts": 18, "control_group_share": 2 / 20,
        "targeted_contact_share": 0.0,  # two campaigns of 20 customers cannot show targeting beyond chance
        "campaign_lift": 0.3 / 0.5,  # C1: 3 of 10 contacted responded, 1 of 2 in the control group
        "targeted_campaign_lift": None, "targeting_model_lift": 3.0, "targeting_beats_random": True,
        "geo_enrichment_share": 15 / 20, "predictive_model_published": True, "model_beats_baseline": True,
        "dashboard_users_30d": 2, "dashboard_roles_30d": 2,  # ann, bob; carl's view is 31 days old
    })
    verdicts = result.campaigns.set_index("campaign")
    assert verdicts["contacted"].to_dict() == {"CK1": 10, "CK2": 8}
    assert verdicts["p_value"].round(4).tolist() == [0.0179, 0.0179] and not verdicts["is_targeted"].any()
    stages = result.tables["maturity_assessment"].set_index("capability_id")["stage"].to_dict()
    assert stages == {"customer_data_store": 3, "profitability_segmentation": 4, "campaign_targeting": 3,
                      "analytics_access": 3, "overall": 3}
    gaps = result.tables["maturity_gaps"]
    assert gaps.query("scope == 'overall'")[["capability_id", "requirement"]].values.tolist() == [
        ["customer_data_store",
         "Duplicate rate after resolution (customers sharing a national id or an email and birth date) at most 1.0%"],
        ["customer_data_store", "Data-quality score, mean over source systems and areas (0-100) at least 80.0"],
        ["campaign_targeting", "Share of campaign contacts in targeted (not blanket) campaigns at least 50.0%"],
        ["campaign_targeting", "Share of customers with a geodemographic segment at least 80.0%"]]
    sponsors = result.tables["maturity_sponsors"].set_index("section_id")
    assert sponsors["score"].to_dict() == {"leadership_culture": 75.0, "data_it": 75.0, "people": 50.0,
                                           "processes": 25.0, "readiness": 75.0}
    assert sponsors["self_assessed_stage"].iloc[0] == 4 and sponsors["answered_by"].iloc[0] == "ada"
    assert (result.tables["maturity_evidence"]["as_of_date"] == dt.date(2025, 3, 31)).all()


def test_missing_tables_leave_evidence_unmeasured_and_bad_answers_are_reported(tiny_bank, tmp_path):
    """The published tables of the tiny bank without the extras; a broken answers file does not stop it."""
    import shutil

    from dashboard_db import build_serving

    from orchestration.maturity import maturity_for_warehouse

    settings = build_serving(tmp_path / "home", models=False)
    settings.maturity_answers_path.parent.mkdir(parents=True, exist_ok=True)
    settings.maturity_answers_path.write_text("answers:\n  lc_vision: 9\n", encoding="utf-8")
    result = maturity_for_warehouse(settings, now=NOW)
    unmeasured = {k for k, v in result.evidence.items() if v is None}
    assert unmeasured == {"duplicate_rate_before", "treatment_share", "targeted_campaign_lift",
                          "targeting_model_lift", "targeting_beats_random", "geo_enrichment_share",
                          "model_beats_baseline"}
    assert result.evidence["value_segments_current"] is False
    assert result.answers is None and result.answers_error.endswith(
        "answers.yaml:2: question lc_vision: answer 9 is not one of 1 Not at all, 2 In a few places, 3 Partly, "
        "4 Mostly, 5 Fully")
    assert result.tables["maturity_sponsors"]["note"].iloc[0] == result.answers_error
    assert result.tables["maturity_sponsors"]["score"].isna().all()
    shutil.rmtree(settings.maturity_answers_path.parent)
    # A control group without a responder counts half a responder: C1's lift 0.3 / (0.5 / 2), a lower bound.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("update warehouse.fct_campaign_contacts set has_responded = false where is_control")
    result = maturity_for_warehouse(settings, now=NOW)
    assert result.tables["maturity_sponsors"]["note"].iloc[0] == "no answers yet: run `crmw assess`"
    assert result.evidence["campaign_lift"] == pytest.approx(1.2)


# ------------------------------------------------------------------------------------------------ crmw assess
@pytest.fixture
def assess_home(tiny_bank, tmp_path, monkeypatch):
    """A home with the tiny bank's published database (and its assessment), no answers yet."""
    import shutil

    from orchestration.settings import load_settings

    settings = load_settings(tmp_path / "home")
    settings.serving_path.parent.mkdir(parents=True)
    shutil.copy(tiny_bank.serving_path, settings.serving_path)
    monkeypatch.setenv("CRMW_HOME", str(settings.home))
    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    return settings


def test_crmw_assess_reads_an_answers_file_and_prints_scores_and_stages(assess_home, tmp_path, capsys):
    from orchestration.cli import main

    values = {q: 5 for q in QUESTIONNAIRE.questions} | {"ra_self_assessed_stage": 4, "pe_access": 1}
    given = write_answers(tmp_path / "workshop.yaml", Answers(values, None, "board workshop"), QUESTIONNAIRE)
    assert main(["assess", "--answers", str(given)]) == 0
    out = capsys.readouterr().out
    written = load_answers(assess_home.maturity_answers_path, QUESTIONNAIRE)
    assert written.values == values and written.assessed_by == "board workshop" and written.assessed_at
    assert "  Leadership and culture     100.0   5/5 answered (sponsor)" in out
    assert "  People                      80.0   5/5 answered (sponsor)" in out  # (1 + 1 + 0 + 1 + 1) / 5
    assert "Stage you chose: 4 of 5, Well developed CRM" in out
    # The tiny bank's published assessment (dashboard_db): overall stage 3; the data store's gaps come first.
    assert "  Overall                                3 of 5, Partly developed CRM" in out
    assert "(you chose 4; the data says 3)" in out
    assert "To reach stage 4 (Well developed CRM):" in out


def test_crmw_assess_asks_at_the_terminal(assess_home):
    import io

    from orchestration.assess import AssessAborted, run_assess

    replies = iter(["9", "4", "-"] + ["3"] * 23 + ["2"])  # 9 is refused and asked again; `-` skips
    out = io.StringIO()
    run_assess(assess_home, None, "ann", lambda prompt: next(replies), out,
               now=dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC))
    written = load_answers(assess_home.maturity_answers_path, QUESTIONNAIRE)
    order = list(QUESTIONNAIRE.questions)
    assert written.values == {order[0]: 4, **{q: 3 for q in order[2:-1]}, order[-1]: 2}
    assert (written.assessed_by, written.assessed_at) == ("ann", dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC))
    assert "answer 9 is not one of 1 Not at all" in out.getvalue()
    # Again: Enter keeps every previous answer; input that ends early writes nothing.
    keep = iter([""] * 26)
    run_assess(assess_home, None, "ann", lambda prompt: next(keep), io.StringIO())
    assert load_answers(assess_home.maturity_answers_path, QUESTIONNAIRE).values == written.values

    def ends(prompt):
        raise EOFError

    before = assess_home.maturity_answers_path.read_text(encoding="utf-8")
    with pytest.raises(AssessAborted, match="input ended at question lc_vision; nothing was written"):
        run_assess(assess_home, None, "ann", ends, io.StringIO())
    assert assess_home.maturity_answers_path.read_text(encoding="utf-8") == before


def test_crmw_assess_refuses_a_bad_answers_file(assess_home, tmp_path, capsys):
    from orchestration.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("answers:\n  lc_vision: 3\n  di_refresh: 11\n", encoding="utf-8")
    assert main(["assess", "--answers", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}:3: question di_refresh: answer 11 is not one of 1 Not at all")
    assert not assess_home.maturity_answers_path.exists()


# ------------------------------------------------------------------------------------------------ dashboards
def test_page_views_are_audited_and_the_maturity_and_pipeline_pages_show_them(tiny_bank):
    import json

    from dashboards.app import create_app
    from dashboards.auth import add_user, users_path
    from dashboards.client import post_callback, sign_in
    from orchestration.audit import read_events

    users = users_path(tiny_bank.home)
    add_user(users, "vic", "executive", "vic-password")
    client = create_app(tiny_bank, "m" * 32, users).server.test_client()
    assert sign_in(client, "vic", "vic-password").status_code == 302
    route = [("page", "children"), ("whoami", "children")]
    before = len(read_events(tiny_bank))
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the log keeps whole seconds
    pages = {}
    for path in ("/maturity", "/", "/maturity", "/no-such-page", "/pipeline"):
        code, body = post_callback(client, route, [("url", "pathname", path)])
        assert code == 200
        pages[path] = body["response"]["page"]["children"]
    views = read_events(tiny_bank).iloc[before:]
    # One row per view, the second view of /maturity too (its layout is kept; the route still runs).
    assert views[["user_name", "role", "action", "page"]].values.tolist() == [
        ["vic", "executive", "page_view", p] for p in ("/maturity", "/", "/maturity", "/pipeline")]
    assert views["event_time"].between(started, dt.datetime.now(dt.UTC)).all()  # recorded now, in UTC

    maturity = json.dumps(pages["/maturity"])
    assert "Not built yet" not in maturity and "3 of 5" in maturity and "Partly developed CRM" in maturity
    radar = next(c for c in _graphs(pages["/maturity"]) if c["id"] == "mat-radar")["figure"]["data"][0]
    assert radar["r"] == [75.0, 75.0, 50.0, 25.0, 75.0]  # dashboard_db's answers, the polygon closed
    ladder = next(c for c in _graphs(pages["/maturity"]) if c["id"] == "mat-ladder")["figure"]["data"][0]
    # The capabilities, then overall, as published by build_serving (before any dashboard use: analytics 2).
    assert ladder["y"] == [3.0, 4.0, 3.0, 2.0, 3.0]
    usage = next(c for c in _graphs(pages["/pipeline"]) if c["id"] == "pipe-usage")["figure"]["data"]
    assert sum(usage[1]["y"]) >= 4  # page views of today and the fixture's within 90 days
    assert "distinct user(s) in the last 30 days" in json.dumps(pages["/pipeline"])


def _graphs(component):
    """Every dcc.Graph's props in a serialised Dash layout."""
    if isinstance(component, dict):
        if component.get("type") == "Graph":
            yield component["props"]
        for value in component.get("props", {}).values():
            yield from _graphs(value)
    elif isinstance(component, list):
        for item in component:
            yield from _graphs(item)


def test_a_copy_of_the_stage_rules_in_the_home_replaces_the_packaged_ones(tmp_path):
    from orchestration.maturity import stage_rules
    from orchestration.settings import load_settings

    settings = load_settings(tmp_path)
    assert stage_rules(settings).path == RULES.path
    ten = "dashboard_users_30d\n          at_least: 10"
    copy = _rules_file(tmp_path, ten, ten.replace("10", "50"))
    settings.maturity_rules_path.parent.mkdir(parents=True)
    copy.rename(settings.maturity_rules_path)
    rules = stage_rules(settings)
    assert rules.path == settings.maturity_rules_path
    assert {c.id: c.stage for c in assess(ADVANCED, rules).capabilities}["analytics_access"] == 4
