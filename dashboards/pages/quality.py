"""Data quality and identity: scores by area and source over time, issues (sentinels among them),
quarantine counts, duplicate clusters."""

from __future__ import annotations

from dash import Input, Output, dcc, html

from dashboards import figures
from dashboards.components import graph, section, table
from dashboards.data import ServingData

PATH = "/quality"
TITLE = "Data quality and identity"


def issues_table(data: ServingData, source_system: str | None) -> html.Div:
    return table(data.dq_issues(source_system), "dq-issues-table")


def _issues(data: ServingData) -> html.Div:
    sources = data.dq_sources()
    return html.Div([
        html.Div([html.Label("Source system"), dcc.Dropdown(
            id="dq-source", options=[{"label": s, "value": s} for s in sources], placeholder="all sources")],
            className="filter"),
        html.Div(issues_table(data, None), id="dq-issues"),
    ])


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Scores over time", lambda: graph("dq-time", figures.scores_over_time(data.dq_score_trend()))),
        section("Scores by source",
                lambda: graph("dq-source-heat", figures.scores_by_source(data.dq_score_by_source()))),
        section("Issues (sentinels, invalid values, ...)", lambda: _issues(data)),
        section("Quarantine", lambda: graph("dq-quarantine", figures.quarantine_by_source(data.deliveries()))),
        section("Duplicate clusters", lambda: html.Div([
            graph("dq-clusters", figures.cluster_sizes(data.cluster_sizes())),
            html.H4("Largest clusters"),
            table(data.largest_clusters(), "dq-largest-clusters", {"weakest_link": "ratio"}),
        ])),
    ])


def register(app, data: ServingData) -> None:
    @app.callback(Output("dq-issues", "children"), Input("dq-source", "value"), prevent_initial_call=True)
    @data.scoped
    def _on_source(source_system):
        return issues_table(data, source_system)
