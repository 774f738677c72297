"""Small layout pieces shared by the pages: KPI cards, plain HTML tables, "not built yet" notices."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable

import duckdb
import pandas as pd
from dash import dcc, html

MAX_TABLE_ROWS = 200


def fmt(value, kind: str = "number") -> str:
    """Human-readable number: money with thousands separators, shares as percentages; dates (kind "date")
    without a time of day."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return "–"
    if kind == "date" and isinstance(value, dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dt.date):
        return value.isoformat()
    if kind == "share":
        return f"{float(value):.1%}"
    if kind == "ratio":
        return f"{float(value):.3f}"
    if isinstance(value, int | decimal.Decimal | float):
        number = float(value)
        return f"{number:,.0f}" if abs(number) >= 100 or number == int(number) else f"{number:,.2f}"
    return str(value)


def kpi(label: str, value: str, note: str | None = None, kpi_id: str | None = None) -> html.Div:
    children = [html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value")]
    if note:
        children.append(html.Div(note, className="kpi-note"))
    return html.Div(children, className="kpi", **({"id": kpi_id} if kpi_id else {}))


def table(frame: pd.DataFrame, table_id: str | None = None, formats: dict[str, str] | None = None) -> html.Div:
    """A plain HTML table of at most MAX_TABLE_ROWS rows, scrolling sideways when wide."""
    formats = formats or {}
    head = html.Thead(html.Tr([html.Th(c) for c in frame.columns]))
    rows = [
        html.Tr([html.Td(fmt(v, formats.get(c, "number")) if not isinstance(v, str) else v)
                 for c, v in zip(frame.columns, row, strict=True)])
        for row in frame.head(MAX_TABLE_ROWS).itertuples(index=False, name=None)
    ]
    return html.Div(html.Table([head, html.Tbody(rows)], className="data-table",
                               **({"id": table_id} if table_id else {})), className="table-wrap")


def not_built(what: str, why: str) -> html.Div:
    return html.Div([html.Strong(f"{what}: not built yet. "), html.Span(why)], className="not-built")


def graph(graph_id: str, figure) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figure, config={"displaylogo": False})


def section(title: str, build: Callable[[], object], missing: str | None = None) -> html.Section:
    """A titled block; a table that is not published (yet) shows a notice instead of breaking the page."""
    try:
        body = build()
    except duckdb.CatalogException as exc:
        body = not_built(title, missing or f"the published database lacks a table it needs ({_first_line(exc)})")
    return html.Section([html.H3(title), body], className="section")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200]
