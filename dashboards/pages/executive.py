"""Executive: the four success measures, customers, CLV, profit concentration, the monthly trend, last refresh."""

from __future__ import annotations

from dash import html

from dashboards import figures
from dashboards.components import fmt, graph, kpi, not_built, section
from dashboards.data import ServingData

PATH = "/"
TITLE = "Executive"


def _measures(data: ServingData) -> html.Div:
    h = data.headline()
    if not h:
        return not_built("Measures", "no customer has a P&L in the published database")
    revenue, cost = h["total_revenue"], h["total_cost_to_serve"]
    efficiency = float(cost) / float(revenue) if revenue and float(revenue) > 0 else None
    clv = data.clv_total()
    window = f"{fmt(h['window_start_month'], 'date')[:7]} .. {fmt(h['as_of_month'], 'date')[:7]}"
    cards = [
        kpi("Revenue", fmt(revenue), f"trailing 12 months, {window}", "kpi-revenue"),
        kpi("Cost of service", fmt(cost), "cost to serve (TDABC)", "kpi-cost"),
        kpi("Efficiency", fmt(efficiency, "ratio") if efficiency is not None else "–",
            "cost to serve per 1 of revenue", "kpi-efficiency"),
        kpi("Customer satisfaction", f"{float(h['satisfaction']):.2f} / 5" if h["satisfaction"] is not None else "–",
            "mean score of the window's contacts", "kpi-satisfaction"),
        kpi("Customers", fmt(h["customers"]), "current customers (one per person found)", "kpi-customers"),
        kpi("Active customers", fmt(h["active_customers"]), "with a P&L in the as-of month", "kpi-active"),
        kpi("Profit", fmt(h["total_profit"]), None, "kpi-profit"),
        kpi("Top 20% share of profit", fmt(h["top_20_profit_share"], "share"), None, "kpi-top20"),
        kpi("Customers losing money", fmt(h["unprofitable_customer_share"], "share"), None, "kpi-unprofitable"),
        kpi("Total CLV", fmt(clv) if clv is not None else "not built yet",
            None if clv is not None else "needs the published customer_clv table", "kpi-clv"),
    ]
    return html.Div(cards, className="kpis")


def _refresh(data: ServingData) -> html.Div:
    last = data.last_publish()
    if last.empty:
        return html.Div("never published", id="last-refresh")
    row = last.iloc[0]
    return html.Div(f"Last refresh {fmt(row['published_at'].to_pydatetime())}; data through "
                    f"{fmt(row['data_through'], 'date')}", id="last-refresh")


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Last refresh", lambda: _refresh(data)),
        section("Success measures", lambda: _measures(data)),
        section("Trend over months", lambda: graph("exec-trend", figures.monthly_trend(data.monthly_trend()))),
    ])


def register(app, data: ServingData) -> None:
    """No callbacks: the page is drawn when it is opened."""
