"""Profitability: deciles (table and bars), whale curve, products and channel mix by decile, decile migration,
the channel-shift what-if with sliders, and a target list export."""

from __future__ import annotations

import datetime as dt

import flask
from dash import Input, Output, State, dcc, html

from dashboards import downloads, figures
from dashboards.auth import can_see_pii
from dashboards.components import graph, section, table
from dashboards.data import ServingData, normalise_filters
from models_ml.profitability import channel_shift
from orchestration.audit import record_event

PATH = "/profitability"
TITLE = "Profitability"
EXPORT_PATH = "/export/target-list.csv"
DECILE_OPTIONS = [{"label": f"D{d}", "value": d} for d in range(1, 11)]
TABLE_COLUMNS = ["profit_decile", "customers", "unprofitable_customers", "revenue", "cost_to_serve", "profit",
                 "avg_profit", "profit_share", "cumulative_profit_share", "avg_products_held",
                 "assisted_interaction_share"]
SHARES = {"profit_share", "cumulative_profit_share", "assisted_interaction_share"}


def decile_table(deciles) -> html.Div:
    shown = deciles[[c for c in TABLE_COLUMNS if c in deciles.columns]]
    return table(shown, "prof-decile-table", {c: "share" for c in SHARES})


def decile_outputs(data: ServingData, region: str | None):
    deciles = data.deciles(region)
    return (figures.decile_profit(deciles), figures.products_by_decile(deciles),
            figures.channel_mix_by_decile(deciles), decile_table(deciles))


def shift_outputs(data: ServingData, share: float, deciles: list[int], region: str | None):
    frame = data.shift_input(region)
    if frame.empty:
        return figures.empty_figure("Channel-shift what-if"), "no customers to shift"
    result = channel_shift(frame, float(share or 0), deciles or [])
    saved = -float(result["cost_to_serve_change"].sum())
    moved = float(result["assisted_interactions_moved"].sum())
    summary = (f"Moving {float(share or 0):.0%} of the assisted contacts of deciles "
               f"{', '.join(map(str, sorted(deciles or []))) or 'none'} to self-service moves {moved:,.0f} "
               f"contacts and changes profit by {saved:,.2f} (each moved contact costs "
               f"{result.attrs['self_service_cost_per_contact']:.2f} in self-service).")
    return figures.channel_shift_result(result), summary


def _static(data: ServingData, region: str | None) -> html.Div:
    bars, products, mix, decile_tab = decile_outputs(data, region)
    return html.Div([
        html.Div([html.Label("Region"), dcc.Dropdown(
            id="prof-region", options=[{"label": r, "value": r} for r in data.regions()],
            placeholder="all regions", clearable=True)], className="filter"),
        graph("prof-deciles", bars),
        html.Div(decile_tab, id="prof-table"),
        graph("prof-products", products),
        graph("prof-mix", mix),
    ])


def layout(data: ServingData, role: str) -> html.Div:
    fig, summary = shift_outputs(data, 0.3, [8, 9, 10], None)
    return html.Div([
        html.H2(TITLE),
        section("Deciles", lambda: _static(data, None)),
        section("Whale curve", lambda: graph("prof-whale", figures.whale_curve(data.whale_curve()))),
        section("Decile migration",
                lambda: graph("prof-migration", figures.decile_migration(data.decile_migration()))),
        section("Channel-shift what-if", lambda: html.Div([
            html.Label("Share of assisted contacts moved to self-service"),
            dcc.Slider(id="shift-share", min=0, max=1, step=0.05, value=0.3,
                       marks={v / 10: f"{v * 10}%" for v in range(0, 11, 2)}),
            html.Label("Deciles"),
            dcc.Checklist(id="shift-deciles", options=DECILE_OPTIONS, value=[8, 9, 10], inline=True),
            graph("shift-figure", fig),
            html.P(summary, id="shift-summary"),
        ])),
        section("Target list", lambda: html.Div([
            html.P("Customers of the chosen deciles (and the region above) as CSV: customer keys, decile and P&L"
                   + ("; names and contact details too (your role may see them)." if can_see_pii(role)
                      else "; no personal data for your role.")),
            dcc.Checklist(id="export-deciles", options=DECILE_OPTIONS, value=[10], inline=True),
            html.A("Export target list (CSV)", id="export-link", href=export_href([10], None), className="button"),
        ])),
    ])


def register(app, data: ServingData) -> None:
    @app.callback(
        Output("prof-deciles", "figure"), Output("prof-products", "figure"), Output("prof-mix", "figure"),
        Output("prof-table", "children"), Input("prof-region", "value"), prevent_initial_call=True,
    )
    @data.scoped
    def _on_region(region):
        return decile_outputs(data, region)

    @app.callback(
        Output("shift-figure", "figure"), Output("shift-summary", "children"),
        Input("shift-share", "value"), Input("shift-deciles", "value"), State("prof-region", "value"),
        prevent_initial_call=True,
    )
    @data.scoped
    def _on_shift(share, deciles, region):
        return shift_outputs(data, share, deciles, region)

    @app.callback(Output("export-link", "href"), Input("export-deciles", "value"), Input("prof-region", "value"),
                  prevent_initial_call=True)
    def _on_export_choice(deciles, region):
        return export_href(deciles, region)

    @app.server.route(EXPORT_PATH, endpoint="export_target_list")
    @data.scoped
    def _export():
        args = flask.request.args
        deciles = normalise_filters({"decile": args.getlist("decile")}).get("decile", [])  # checked: 1-10 only
        content, name = export_target_list(data, deciles, args.get("region") or None, flask.session.get("role"),
                                           flask.session.get("user"))
        return downloads.attachment(content, name)


def export_href(deciles: list[int] | None, region: str | None) -> str:
    """Where the target list of these deciles and region downloads from (EXPORT_PATH)."""
    return downloads.href(EXPORT_PATH, {"decile": deciles or [], "region": region})


def export_target_list(data: ServingData, deciles: list[int], region: str | None, role: str | None,
                       user: str | None = None) -> tuple[bytes, str]:
    """The chosen deciles' customers as CSV (personal columns only for roles that may see them) and its file
    name; audited."""
    content, rows = data.target_list_csv(deciles, region, with_pii=can_see_pii(role))
    record_event(data.settings, user=user or "?", role=role or "?", action="export", page=PATH,
                 detail={"rows": rows, "deciles": sorted({int(d) for d in deciles if 1 <= int(d) <= 10}),
                         "region": region, "personal_data": can_see_pii(role)})
    return content, f"target-list-{dt.date.today().isoformat()}.csv"
