"""The static executive report pack: one dated, self-contained HTML file (plotly.js embedded, opens offline)
in $CRMW_HOME/reports/, built from the published database with the dashboard's own figure functions."""

from __future__ import annotations

import datetime as dt
import html
import os
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from dashboards import figures
from dashboards.components import fmt
from dashboards.data import ServingData
from orchestration.settings import Settings

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}.note{color:#666;font-size:.9em}"""


def _figure_html(fig: go.Figure) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _sections(data: ServingData) -> list[tuple[str, str]]:
    """(title, HTML) of each block; a block whose table is not published says so."""
    out: list[tuple[str, str]] = []

    def add(title: str, build) -> None:
        try:
            out.append((title, build()))
        except duckdb.CatalogException as exc:
            out.append((title, f'<p class="note">not built yet ({html.escape(str(exc).splitlines()[0])})</p>'))

    def measures() -> str:
        h = data.headline()
        clv = data.clv_total()
        revenue, cost = h.get("total_revenue"), h.get("total_cost_to_serve")
        rows = [
            ("Window", f"{fmt(h.get('window_start_month'), 'date')[:7]} .. {fmt(h.get('as_of_month'), 'date')[:7]}"),
            ("Revenue", fmt(revenue)), ("Cost of service", fmt(cost)),
            ("Efficiency (cost to serve per 1 of revenue)",
             fmt(float(cost) / float(revenue), "ratio") if revenue and float(revenue) > 0 else "–"),
            ("Customer satisfaction (1-5)", f"{float(h['satisfaction']):.2f}" if h.get("satisfaction") else "–"),
            ("Customers", fmt(h.get("customers"))), ("Active customers", fmt(h.get("active_customers"))),
            ("Profit", fmt(h.get("total_profit"))),
            ("Top 20% share of profit", fmt(h.get("top_20_profit_share"), "share")),
            ("Customers losing money", fmt(h.get("unprofitable_customer_share"), "share")),
            ("Total CLV", fmt(clv) if clv is not None else "not built yet"),
        ]
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<table id='measures'>{body}</table>"

    add("Success measures", measures)
    add("Trend over months", lambda: _figure_html(figures.monthly_trend(data.monthly_trend())))
    deciles = None

    def decile_block() -> str:
        nonlocal deciles
        deciles = data.deciles()
        return _figure_html(figures.decile_profit(deciles))

    add("Profit by decile", decile_block)
    add("Whale curve", lambda: _figure_html(figures.whale_curve(data.whale_curve())))
    add("Products held by decile", lambda: _figure_html(figures.products_by_decile(
        deciles if deciles is not None else data.deciles())))
    add("Channel mix and cost to serve by decile", lambda: _figure_html(figures.channel_mix_by_decile(
        deciles if deciles is not None else data.deciles())))
    add("Data quality", lambda: _figure_html(figures.scores_by_source(data.dq_score_by_source())))
    add("Freshness", lambda: _figure_html(figures.freshness(data.deliveries())))
    add("CRM maturity", lambda: _maturity_block(data))
    return out


def _table_html(frame, columns: list[str], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                   for row in frame[columns].itertuples(index=False, name=None))
    return f"<table id='{table_id}'><tr>{head}</tr>{body}</table>"


def _maturity_block(data: ServingData) -> str:
    """Stage ladder, the sponsors' radar and the actions to the next stage (marts.maturity_*)."""
    assessment = data.maturity("assessment")
    if assessment is None:
        return '<p class="note">not built yet (the maturity assessment is not published)</p>'
    overall = assessment[assessment["scope"] == "overall"].iloc[0]
    parts = [f"<p id='maturity-overall'>Overall: stage {int(overall['stage'])} of 5, "
             f"{html.escape(overall['stage_name'])} (measured as of {fmt(overall['as_of_date'], 'date')}).</p>",
             _figure_html(figures.stage_ladder(assessment))]
    sponsors = data.maturity("sponsors")
    if sponsors is not None:
        parts.append(_figure_html(figures.sponsor_radar(sponsors)))
    gaps = data.maturity("gaps")
    if gaps is not None and not gaps.empty:
        parts.append("<h3>Actions to reach the next stage</h3>")
        parts.append(_table_html(gaps[gaps["scope"] == "overall"], ["stage_needed", "action", "measured"],
                                 "maturity-gaps"))
    return "".join(parts)


def render_report(data: ServingData, generated_at: dt.datetime) -> str:
    last = data.last_publish()
    published = (f"published {fmt(last.iloc[0]['published_at'].to_pydatetime())}, data through "
                 f"{fmt(last.iloc[0]['data_through'], 'date')}") if not last.empty else "never published"
    blocks = "".join(f"<section><h2>{html.escape(t)}</h2>{body}</section>" for t, body in _sections(data))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>crm-warehouse executive pack "
            f"{generated_at:%Y-%m-%d}</title><style>{STYLE}</style><script type='text/javascript'>{get_plotlyjs()}"
            f"</script></head><body><h1>Executive pack {generated_at:%Y-%m-%d}</h1>"
            f"<p class='note'>Generated {generated_at:%Y-%m-%d %H:%M} UTC from the serving database "
            f"({html.escape(published)}).</p>{blocks}</body></html>")


def write_report(settings: Settings, generated_at: dt.datetime | None = None) -> Path:
    """Write $CRMW_HOME/reports/executive-pack-YYYY-MM-DD.html (replacing that day's pack) and return its path."""
    generated_at = generated_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    data = ServingData(settings)
    if not data.is_published():
        raise FileNotFoundError(f"nothing published yet: {settings.serving_path} does not exist")
    with data.session():
        text = render_report(data, generated_at)
    folder = settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"executive-pack-{generated_at:%Y-%m-%d}.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
