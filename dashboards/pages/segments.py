"""Segments: filters (value tier, behaviour segment, RFM segment, profit decile, region, product, channel) that
redraw the size and value of the selected customers and their CLV distribution, and export them as a target
list (audited); revenue and profit by region and geodemographic segment; profiles of the value tiers, RFM
segments, treatments and behavioural segments."""

from __future__ import annotations

import datetime as dt

import flask
from dash import Input, Output, dcc, html

from dashboards import downloads, figures
from dashboards.auth import can_see_pii
from dashboards.components import fmt, graph, not_built, section, table
from dashboards.data import ServingData, normalise_filters
from orchestration.audit import record_event

PATH = "/segments"
TITLE = "Segments"
EXPORT_PATH = "/export/segment-target-list.csv"

SEGMENT_TYPES = (("value_tier", "Value tiers (customer pyramid)"), ("rfm_segment", "RFM segments"),
                 ("treatment", "Treatments"), ("behaviour_segment", "Behavioural segments"))
SHARES = ("customer_share", "clv_share", "profit_share", "unprofitable_share", "assisted_interaction_share")
# Filter key (dashboards.data.SEGMENT_FILTERS) -> label; the dropdown of key k has id seg-f-k.
FILTERS = (("tier", "Value tier"), ("behaviour", "Behavioural segment"), ("rfm", "RFM segment"),
           ("decile", "Profit decile"), ("region", "Region"), ("product", "Holds product"),
           ("channel", "Used channel (12 months)"))
FILTER_INPUTS = [Input(f"seg-f-{key}", "value") for key, _ in FILTERS]


def chosen(values) -> dict:
    """The filter dropdowns' values (in FILTERS order) as a filter dict."""
    return {key: value for (key, _), value in zip(FILTERS, values, strict=True)}


def selection_outputs(data: ServingData, filters: dict):
    """Summary line, sizes, CLV histogram and CLV box plot of the customers the filters select."""
    summary = data.segment_summary(filters)
    customers = int(summary["customers"].sum()) if not summary.empty else 0
    clv = float(summary["clv_total"].sum()) if not summary.empty else 0.0
    profit = float(summary["profit_total"].sum()) if not summary.empty else 0.0
    text = (f"{customers:,} customers selected; total CLV {fmt(clv)}, trailing 12-month profit {fmt(profit)}."
            if customers else "No customer matches these filters.")
    return (text, figures.segment_sizes(summary), figures.clv_distribution(data.clv_histogram(filters)),
            figures.clv_box_by_tier(data.clv_by_tier(filters)))


def export_href(filters: dict) -> str:
    """Where the list of the customers these filters select downloads from (EXPORT_PATH)."""
    return downloads.href(EXPORT_PATH, {key: filters.get(key) for key, _ in FILTERS})


def export_segment_list(data: ServingData, filters: dict, user: str | None, role: str | None) -> tuple[bytes, str]:
    """The selected customers as CSV (personal columns only for roles that may see them) and its file name;
    audited."""
    content, rows = data.segment_target_list_csv(filters, with_pii=can_see_pii(role))
    record_event(data.settings, user=user or "?", role=role or "?", action="export", page=PATH,
                 detail={"rows": rows, "filters": normalise_filters(filters),
                         "personal_data": can_see_pii(role)})
    return content, f"segment-target-list-{dt.date.today().isoformat()}.csv"


def _filters(data: ServingData) -> html.Div:
    options = data.segment_options()
    return html.Div([
        html.Div([html.Label(label), dcc.Dropdown(
            id=f"seg-f-{key}", options=[{"label": f"D{v}" if key == "decile" else str(v), "value": v}
                                        for v in options[key]],
            multi=True, placeholder="all")], className="filter")
        for key, label in FILTERS
    ], className="kpis")


def _selection(data: ServingData, role: str) -> html.Div:
    if not data.segment_base_ready():
        return html.Div([
            not_built("Value-based segments, filters, CLV distribution and target lists",
                      "needs the published customer_segments table (segmentation model)"),
        ])
    text, sizes, histogram, box = selection_outputs(data, {})
    return html.Div([
        _filters(data),
        html.P(text, id="seg-summary"),
        graph("seg-sizes", sizes),
        graph("seg-clv-hist", histogram),
        graph("seg-clv-box", box),
        html.H4("Target list"),
        html.P("The selected customers as CSV, highest CLV first: customer key, value tier, RFM and behavioural "
               "segment, treatment, CLV, profit decile"
               + ("; names and contact details too (your role may see them)." if can_see_pii(role)
                  else "; no personal data for your role.") + " Every export is recorded in the audit log."),
        html.A("Export selected customers (CSV)", id="seg-export-link", href=export_href({}), className="button"),
    ])


def _profiles(data: ServingData) -> html.Div:
    notes = []
    if data.find("customer_segments") is not None:
        for segment_type, title in SEGMENT_TYPES:
            profiles = data.segment_profiles(segment_type)
            if profiles is not None and not profiles.empty:
                notes += [html.H4(title), table(profiles, f"seg-{segment_type}", {c: "share" for c in SHARES})]
    if not notes:
        notes.append(not_built("Segment profiles", "needs the published segment_profiles table"))
    return html.Div(notes)


def layout(data: ServingData, role: str) -> html.Div:
    return html.Div([
        html.H2(TITLE),
        section("Choose customers", lambda: _selection(data, role)),
        section("Profiles", lambda: _profiles(data)),
        section("By region", lambda: graph("seg-region", figures.segment_profit(data.segments(), "region"))),
        section("By geodemographic segment",
                lambda: graph("seg-geo", figures.segment_profit(data.segments(), "geo_segment"))),
    ])


def register(app, data: ServingData) -> None:
    @app.callback(
        Output("seg-summary", "children"), Output("seg-sizes", "figure"), Output("seg-clv-hist", "figure"),
        Output("seg-clv-box", "figure"), *FILTER_INPUTS, prevent_initial_call=True,
    )
    @data.scoped
    def _on_filter(*values):
        if not data.segment_base_ready():  # a publish without segments since the page was drawn
            return ("Segments are not published any more: reload the page.",
                    *(figures.empty_figure(t) for t in ("Segments", "CLV distribution", "CLV by value tier")))
        return selection_outputs(data, chosen(values))

    @app.callback(Output("seg-export-link", "href"), *FILTER_INPUTS, prevent_initial_call=True)
    def _on_export_choice(*values):
        return export_href(chosen(values))

    @app.server.route(EXPORT_PATH, endpoint="export_segment_list")
    @data.scoped
    def _export():
        if not data.segment_base_ready():  # a publish without segments since the page was drawn
            return flask.Response("Segments are not published any more: reload the page.", status=409,
                                  mimetype="text/plain")
        filters = {key: flask.request.args.getlist(key) for key, _ in FILTERS}
        content, name = export_segment_list(data, filters, flask.session.get("user"), flask.session.get("role"))
        return downloads.attachment(content, name)
