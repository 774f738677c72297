"""Campaigns: spend and responses by purpose; past campaign performance by segment (contacts, responders,
response rate, cost, response value per campaign and value tier or another segment); gains and lift of the
targeting model and the random-1/12 vs targeted comparison (marts.campaign_lift, marts.policy_comparison),
or a plain "not computed yet" while those are not published; a campaign's target list from the published scores
(budget, channel, control group; audited)."""

from __future__ import annotations

import flask
from dash import Input, Output, State, dcc, html, no_update

from dashboards import figures
from dashboards.components import graph, section, table
from dashboards.data import CAMPAIGN_DIMENSIONS, ServingData
from dashboards.figures.campaigns import POLICY_LABELS
from orchestration.audit import record_event

PATH = "/campaigns"
TITLE = "Campaigns"
DIMENSION_LABELS = {"value_tier": "Value tier", "profit_decile": "Profit decile", "rfm_segment": "RFM segment",
                    "behaviour_segment": "Behavioural segment", "treatment": "Treatment"}
RATES = {"response_rate": "share", "control_response_rate": "share", "cumulative_response_share": "share",
         "lift": "ratio", "cumulative_lift": "ratio", "roi": "share"}
LATEST_CAMPAIGNS = 12  # rows of the per-campaign table: campaigns x segments, newest campaigns first
PERFORMANCE_COLUMNS = ["campaign_name", "start_date", "segment", "contacts", "responders", "response_rate", "cost",
                       "revenue", "control_response_rate"]


def not_computed(what: str, table_name: str) -> html.Div:
    return html.Div([html.Strong(f"{what}: not computed yet. "),
                     html.Span(f"The campaign targeting model has not published marts.{table_name}; this shows up "
                               "after the refresh that computes it.")], className="not-built",
                    id=f"camp-missing-{table_name}")


def performance_outputs(data: ServingData, dimension: str | None):
    """Figure and per-campaign table of past campaigns by one segment dimension (allow-listed)."""
    dimension = dimension if dimension in CAMPAIGN_DIMENSIONS else "value_tier"
    by_segment = data.campaign_segments(dimension)
    if by_segment is None:
        return (figures.empty_figure("Past campaigns", "no campaign contacts published"),
                html.P("No campaign contacts are published."))
    per_campaign = data.campaign_performance(dimension)
    campaigns = per_campaign[["start_date", "campaign_name"]].drop_duplicates()  # oldest first
    latest = campaigns.tail(LATEST_CAMPAIGNS)
    shown = (per_campaign.merge(latest, on=["start_date", "campaign_name"])
             .sort_values(["start_date", "campaign_name"], ascending=[False, True], kind="stable"))
    return (figures.campaign_response_by_segment(by_segment, dimension),
            html.Div([table(by_segment, "camp-by-segment", RATES),
                      html.H4(f"Per campaign (the latest {len(latest)} of {len(campaigns)}, newest first)"),
                      table(shown[PERFORMANCE_COLUMNS], "camp-by-campaign", RATES)]))


def _performance(data: ServingData) -> html.Div:
    fig, tables = performance_outputs(data, "value_tier")
    return html.Div([
        html.P("Contacted customers (not the control group) of every past campaign, grouped by the customers' "
               "current segment (as of the last refresh); cost is contacts x the campaign's cost per contact, "
               "revenue the responses' value."),
        html.Div([html.Label("Group by"), dcc.Dropdown(
            id="camp-dimension", options=[{"label": DIMENSION_LABELS[d], "value": d} for d in CAMPAIGN_DIMENSIONS],
            value="value_tier", clearable=False)], className="filter"),
        graph("camp-performance", fig),
        html.Div(tables, id="camp-performance-tables"),
    ])


def _targeting(data: ServingData) -> html.Div:
    lift = data.campaign_lift()
    if lift is None:
        return not_computed("Gains and lift of the targeting model", "campaign_lift")
    as_of = lift["as_of_date"].max() if "as_of_date" in lift.columns and not lift.empty else None
    return html.Div([
        html.P(f"Scored as of {as_of}." if as_of is not None else ""),
        graph("camp-gains", figures.gains_curve(lift)),
        graph("camp-lift", figures.lift_by_decile(lift)),
        table(lift, "camp-lift-table", RATES),
    ])


def _policies(data: ServingData) -> html.Div:
    policies = data.policy_comparison()
    if policies is None:
        return not_computed("Random 1 in 12 vs targeted", "policy_comparison")
    shown = policies.assign(policy=[POLICY_LABELS.get(p, p) for p in policies["policy"]])
    return html.Div([graph("camp-policies", figures.policy_comparison(policies)),
                     table(shown, "camp-policy-table", RATES)])


def export_campaign_list(data: ServingData, campaign: str | None, budget, channel: str | None, user: str | None,
                         role: str | None) -> dict | str:
    """The campaign's target list as CSV (no personal data: customer key, score, expected value, reason codes,
    treatment, control flag), audited; or the reason there is none, as text."""
    # orchestration.targeting brings scikit-learn with it: imported when a list is asked for, not at app start
    from orchestration.targeting import contact_cost, file_slug, target_list

    scores = data.campaign_scores()
    if scores is None:
        return "No scores are published yet."
    try:
        cost = contact_cost(data.settings.targeting, channel)
        listed = target_list(scores, data.settings.targeting, campaign or "", float(budget or 0), cost)
    except (TypeError, ValueError) as exc:
        return f"No list: {exc}."
    controls = int(listed["is_control"].sum())
    record_event(data.settings, user=user or "?", role=role or "?", action="export", page=PATH, detail={
        "campaign": campaign, "budget": float(budget or 0), "channel": channel, "cost_per_contact": cost,
        "rows": len(listed), "contacts": len(listed) - controls, "controls": controls})
    return {"content": listed.to_csv(index=False, float_format="%.6f"),
            "filename": f"targets-{file_slug(campaign)}.csv", "type": "text/csv", "base64": False}


def _target_list(data: ServingData) -> html.Div:
    if data.find("campaign_scores") is None:
        return html.P("Target lists are built from the targeting model's scores (marts.campaign_scores), which are "
                      "not published yet.", id="camp-missing-campaign_scores")
    from orchestration.targeting import channel_contact_costs

    channels = [c for c, cost in channel_contact_costs().items() if cost > 0]
    return html.Div([
        html.P("Customers ranked by expected value per contact (score x value per response - the channel's cost "
               "per contact), within the budget, with a random control group held out; customers whose treatment "
               "is 'do not target' are never listed. No personal data; every export is recorded in the audit log."),
        html.Div([html.Label("Campaign"), dcc.Input(id="camp-list-name", type="text", value="")], className="filter"),
        html.Div([html.Label("Budget"), dcc.Input(id="camp-list-budget", type="number", min=0, value=1000)],
                 className="filter"),
        html.Div([html.Label("Channel"), dcc.Dropdown(
            id="camp-list-channel", options=[{"label": c, "value": c} for c in channels],
            value=data.settings.targeting.channel, clearable=False)], className="filter"),
        html.Button("Export target list (CSV)", id="camp-list-button", n_clicks=0),
        html.P("", id="camp-list-note"),
        dcc.Download(id="camp-list-download"),
    ])


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Spend by purpose", lambda: graph("camp-spend", figures.marketing_spend(data.marketing_spend()))),
        section("Past campaigns by segment", lambda: _performance(data)),
        section("Targeting: gains and lift", lambda: _targeting(data)),
        section("Random 1 in 12 vs targeted", lambda: _policies(data)),
        section("Target list for a campaign", lambda: _target_list(data)),
    ])


def register(app, data: ServingData) -> None:
    @app.callback(Output("camp-performance", "figure"), Output("camp-performance-tables", "children"),
                  Input("camp-dimension", "value"), prevent_initial_call=True)
    @data.scoped
    def _on_dimension(dimension):
        return performance_outputs(data, dimension)

    @app.callback(Output("camp-list-download", "data"), Output("camp-list-note", "children"),
                  Input("camp-list-button", "n_clicks"), State("camp-list-name", "value"),
                  State("camp-list-budget", "value"), State("camp-list-channel", "value"), prevent_initial_call=True)
    @data.scoped
    def _on_export(n_clicks, campaign, budget, channel):
        if not n_clicks:
            return no_update, no_update
        out = export_campaign_list(data, campaign, budget, channel, flask.session.get("user"),
                                   flask.session.get("role"))
        return (no_update, out) if isinstance(out, str) else (out, "")
