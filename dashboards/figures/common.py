"""Shared by the figure functions: column checks, the empty-data figure, one layout."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

# A small template of our own: plotly's named templates are deep-copied into every figure (~0.1 s each),
# too slow for callbacks that must answer in well under 300 ms.
TEMPLATE = {"layout": {
    "plot_bgcolor": "white", "paper_bgcolor": "white", "font": {"family": "system-ui, sans-serif"},
    "colorway": ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8ab17d", "#6d597a", "#b56576"],
    "xaxis": {"gridcolor": "#eeeeee", "zerolinecolor": "#cccccc"},
    "yaxis": {"gridcolor": "#eeeeee", "zerolinecolor": "#cccccc"},
}}


def new_figure(data=None) -> go.Figure:
    return go.Figure(data, layout={"template": TEMPLATE})


def require(frame: pd.DataFrame, columns: Iterable[str], figure: str) -> None:
    """Fail with the figure's name and the missing columns rather than deep inside plotly."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{figure}: missing column(s) {', '.join(missing)}")


def empty_figure(title: str, message: str = "no data") -> go.Figure:
    """A figure that says why it is empty instead of drawing blank axes."""
    fig = new_figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 16})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def finish(fig: go.Figure, title: str, **layout) -> go.Figure:
    fig.update_layout(title=title, margin={"l": 60, "r": 80, "t": 50, "b": 50},
                      legend={"orientation": "h", "y": -0.2}, **layout)
    return fig


def floats(series: pd.Series) -> list[float]:
    """Decimals from DuckDB become floats plotly can serialise."""
    return pd.to_numeric(series, errors="coerce").astype(float).tolist()
