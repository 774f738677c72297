"""Pipeline: last publish, last refresh runs, failed runs, steps and checks (the refresh log), freshness per
source system, deliveries, model backtest metrics, and dashboard use over time (the audit log)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from dash import html

from dashboards import figures
from dashboards.components import fmt, graph, not_built, section, table
from dashboards.data import ServingData
from dashboards.runs import RunHistory
from orchestration.audit import read_events
from orchestration.status import recent_failures

PATH = "/pipeline"
TITLE = "Pipeline"
KEEP_LAYOUT = False  # run history and the refresh log change between publishes
FAILURE_COLUMNS = ["recorded_at", "run_id", "range_start", "range_end", "kind", "name", "message"]
_HISTORIES: dict[Path, RunHistory] = {}
USAGE_DAYS = 90  # days of dashboard use shown


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


def run_history(data: ServingData) -> RunHistory:
    """The run history reader of this CRMW_HOME (one per process)."""
    home = data.settings.home
    if home not in _HISTORIES:
        _HISTORIES[home] = RunHistory(data.settings)
    return _HISTORIES[home]


def _runs(data: ServingData):
    runs, error = run_history(data).current()
    if runs is None:
        return html.P(f"Run history could not be read: {error}" if error else
                      "Reading the run history from the Dagster instance: reload in a few seconds.", id="pipe-runs")
    if not runs:
        return html.P("No refresh has run in this CRMW_HOME yet.", id="pipe-runs")
    frame = pd.DataFrame([{
        "run_id": r["run_id"][:8], "status": r["status"], "trigger": r["trigger"],
        "started": r["started"].strftime("%Y-%m-%d %H:%M UTC") if r["started"] else None,
        "minutes": round(r["seconds"] / 60, 1) if r["seconds"] is not None else None,
        "range": " .. ".join(d for d in r["range"] if d) or None,
    } for r in runs])
    return table(frame, "pipe-runs")


def _failures(data: ServingData):
    failures = pd.DataFrame(recent_failures(data.settings, 20), columns=FAILURE_COLUMNS)
    if failures.empty:
        return html.P("No failed run, step or check recorded.", id="pipe-failures")
    checks = failures[failures["kind"] == "check"]
    return html.Div([
        html.P(f"{len(checks)} failed check(s) among the {len(failures)} latest failures recorded."),
        table(failures, "pipe-failures"),
    ])


def _usage(data: ServingData):
    """Page views and exports of the last USAGE_DAYS days (audit log): per day, and per page over 30 days."""
    now = dt.datetime.now(dt.UTC)
    events = read_events(data.settings, since=now - dt.timedelta(days=USAGE_DAYS))
    recent = events[events["event_time"] >= now - dt.timedelta(days=30)]
    per_page = (recent.groupby(["page", "action"]).agg(events=("user_name", "size"), users=("user_name", "nunique"))
                .reset_index().sort_values(["events", "page"], ascending=[False, True]))
    return html.Div([
        html.P(f"{recent['user_name'].nunique()} distinct user(s) in the last 30 days, "
               f"{recent['role'].nunique()} role(s); every page view and export is recorded in the audit log.",
               id="pipe-usage-summary"),
        graph("pipe-usage", figures.usage_over_time(events)),
        table(per_page, "pipe-usage-pages"),
    ])


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Last publish", lambda: _publish(data)),
        section("Last runs", lambda: _runs(data)),
        section("Failed runs, steps and checks (refresh log)", lambda: _failures(data)),
        section("Freshness per source system", lambda: graph("pipe-freshness", figures.freshness(data.deliveries()))),
        section("Deliveries", lambda: table(data.deliveries(), "pipe-deliveries")),
        section("Models", lambda: _models(data)),
        section(f"Dashboard use (last {USAGE_DAYS} days)", lambda: _usage(data)),
    ])


def register(app, data: ServingData) -> None:
    """No callbacks: the page is drawn when it is opened."""
