"""Customer lookup: one customer's profile, sources, P&L and history. Personal data only for steward/admin."""

from __future__ import annotations

import flask
from dash import Input, Output, dcc, html

from dashboards import figures
from dashboards.auth import can_see_pii
from dashboards.components import graph, section, table
from dashboards.data import ServingData

PATH = "/customer"
TITLE = "Customer lookup"


def customer_view(data: ServingData, text: str | None, role: str | None) -> html.Div:
    text = (text or "").strip()
    if not text:
        return html.P("Enter a customer key or a source customer id.")
    key = data.find_customer(text)
    if key is None:
        return html.P(f"No customer with key or source id {text!r}.", id="lookup-none")
    pii = can_see_pii(role)
    return html.Div([
        html.H3(f"Customer {key}"),
        html.P("Personal data shown (your role may see it)." if pii else "Personal data hidden for your role."),
        html.H4("Records"), table(data.customer_profile(key, with_pii=pii), "lookup-profile"),
        html.H4("Source ids"), table(data.customer_sources(key), "lookup-sources", {"match_probability": "ratio"}),
        html.H4("Trailing 12-month P&L"), table(data.customer_pnl(key), "lookup-pnl"),
        graph("lookup-history", figures.customer_history(data.customer_months(key))),
    ], id="lookup-customer")


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Find a customer", lambda: html.Div([
            dcc.Input(id="lookup-input", type="text", placeholder="customer key or source customer id",
                      debounce=True, style={"width": "40em"}),
            html.Button("Look up", id="lookup-go", n_clicks=0),
            html.Div(id="lookup-result"),
        ])),
    ])


def register(app, data: ServingData) -> None:
    @app.callback(Output("lookup-result", "children"), Input("lookup-go", "n_clicks"),
                  Input("lookup-input", "value"), prevent_initial_call=True)
    @data.scoped
    def _on_lookup(n_clicks, text):
        return customer_view(data, text, flask.session.get("role"))
