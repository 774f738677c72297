"""Pipeline: last publish, freshness per source system, deliveries, model backtest metrics."""

from __future__ import annotations

from dash import html

from dashboards import figures
from dashboards.components import fmt, graph, not_built, section, table
from dashboards.data import ServingData

PATH = "/pipeline"
TITLE = "Pipeline"


def _publish(data: ServingData) -> html.Div:
    last = data.last_publish()
    if last.empty:
        return html.P("never published")
    row = last.iloc[0]
    return html.P(f"Run {row['run_id']} published at {fmt(row['published_at'].to_pydatetime())}, data through "
                  f"{fmt(row['data_through'], 'date')}.", id="pipeline-publish")


def _models(data: ServingData):
    metrics = data.model_metrics()
    if metrics is None:
        return not_built("Model backtest metrics", "needs the published model_metrics table")
    return table(metrics, "model-metrics")


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Last publish", lambda: _publish(data)),
        section("Freshness per source system", lambda: graph("pipe-freshness", figures.freshness(data.deliveries()))),
        section("Deliveries", lambda: table(data.deliveries(), "pipe-deliveries")),
        section("Models", lambda: _models(data)),
    ])


def register(app, data: ServingData) -> None:
    """No callbacks: the page is drawn when it is opened."""
