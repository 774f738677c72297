"""Maturity: where the organisation stands on the five stages of analytical CRM, measured from the warehouse at
every refresh (stage ladder, evidence, gaps and the actions that close them), beside the questionnaire's
scores of the four sponsors of success (radar; `crmw assess` records the answers)."""

from __future__ import annotations

from dash import html

from dashboards import figures
from dashboards.components import graph, kpi, not_built, section, table
from dashboards.data import ServingData

PATH = "/maturity"
TITLE = "Maturity"
MISSING = "needs the published maturity tables (the refresh's maturity assessment)"


def _summary(data: ServingData):
    assessment = data.maturity("assessment")
    if assessment is None:
        return not_built("Maturity assessment", MISSING)
    overall = assessment[assessment["scope"] == "overall"].iloc[0]
    sponsors = data.maturity("sponsors")
    chosen = sponsors["self_assessed_stage"].dropna() if sponsors is not None else []
    cards = [kpi("Overall stage", f"{int(overall['stage'])} of 5", overall["stage_name"], "mat-overall")]
    if isinstance(overall["next_stage_name"], str):
        cards.append(kpi("Next stage", overall["next_stage_name"], f"{int(overall['gaps'])} gap(s) to close"))
    if len(chosen):
        cards.append(kpi("Stage the questionnaire chose", f"{int(chosen.iloc[0])} of 5", "self-assessed"))
    as_of = overall["as_of_date"]
    return html.Div([html.Div(cards, className="kpis"),
                     html.P(f"Measured from the warehouse as of {as_of:%Y-%m-%d} by the last refresh.")])


def _ladder(data: ServingData):
    assessment = data.maturity("assessment")
    if assessment is None:
        return not_built("Stage ladder", MISSING)
    shown = assessment[["capability", "stage", "stage_name", "criteria_met", "criteria", "evidence"]]
    return html.Div([graph("mat-ladder", figures.stage_ladder(assessment)), table(shown, "mat-stages")])


def _sponsors(data: ServingData):
    sponsors = data.maturity("sponsors")
    if sponsors is None:
        return not_built("Sponsors of success", MISSING)
    notes = sponsors["note"].dropna()
    shown = sponsors[["section", "score", "answered", "questions"]]
    return html.Div([graph("mat-radar", figures.sponsor_radar(sponsors)),
                     html.P(notes.iloc[0], className="not-built") if len(notes) else None,
                     table(shown, "mat-sponsors")])


def _gaps(data: ServingData):
    gaps = data.maturity("gaps")
    if gaps is None:
        return not_built("Gaps and actions", MISSING)
    if gaps.empty:
        return html.P("No gap: every capability is at the top stage.", id="mat-gaps")
    assessment = data.maturity("assessment").set_index("capability_id")
    named = gaps.assign(capability=[assessment.loc[c, "capability"] if c in assessment.index else c
                                    for c in gaps["capability_id"]])
    overall = named[named["scope"] == "overall"]
    each = named[named["scope"] == "capability"]
    columns = ["capability", "stage_needed", "action", "measured", "requirement"]
    return html.Div([
        html.H4("To reach the next stage overall"),
        table(overall[columns], "mat-gaps") if not overall.empty else html.P("Nothing: the top stage.",
                                                                             id="mat-gaps"),
        html.H4("Each capability's next stage"),
        table(each[columns], "mat-capability-gaps"),
    ])


def _evidence(data: ServingData):
    evidence = data.maturity("evidence")
    if evidence is None:
        return not_built("Evidence", MISSING)
    return table(evidence[["label", "value_text", "used_by"]].rename(columns={"value_text": "measured"}),
                 "mat-evidence")


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Where the organisation stands", lambda: _summary(data)),
        section("Stage ladder", lambda: _ladder(data)),
        section("Gaps and the actions that close them", lambda: _gaps(data)),
        section("Sponsors of success (questionnaire)", lambda: _sponsors(data)),
        section("Evidence measured from the warehouse", lambda: _evidence(data)),
    ])


def register(app, data: ServingData) -> None:
    """No callbacks: the page is drawn when it is opened."""
