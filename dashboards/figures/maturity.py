"""CRM maturity figures: the stage ladder (each capability and the organisation on the five stages) and the
radar of the questionnaire's four sponsors; marts.maturity_assessment and marts.maturity_sponsors."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.figures.common import empty_figure, finish, floats, new_figure, require

STAGE_NAMES = {1: "1 Pre-CRM planning", 2: "2 Building the customer data store", 3: "3 Partly developed",
               4: "4 Well developed", 5: "5 Fully advanced"}


def stage_ladder(assessment: pd.DataFrame) -> go.Figure:
    """One rung per stage (1 at the bottom); a bar per capability up to the stage it stands at, the overall
    stage last and darker, with the next stage's name in the hover."""
    title = "Stage ladder: where each capability and the organisation stand"
    require(assessment, ["scope", "capability", "stage", "stage_name", "next_stage_name"], "stage_ladder")
    if assessment.empty:
        return empty_figure(title, "not assessed yet")
    overall = assessment["scope"] == "overall"
    rows = pd.concat([assessment[~overall], assessment[overall]])
    colours = ["#264653" if scope == "overall" else "#2a9d8f" for scope in rows["scope"]]
    hover = [f"{c}: stage {int(s)}, {n}" + (f"<br>next: {nx}" if isinstance(nx, str) else "<br>the top stage")
             for c, s, n, nx in zip(rows["capability"], rows["stage"], rows["stage_name"], rows["next_stage_name"],
                                    strict=True)]
    fig = new_figure(go.Bar(x=rows["capability"].tolist(), y=floats(rows["stage"]), marker={"color": colours},
                            text=[f"stage {int(s)}" for s in rows["stage"]], textposition="auto",
                            hovertext=hover, hoverinfo="text", name="stage"))
    finish(fig, title, showlegend=False,
           yaxis={"range": [0, 5.3], "tickvals": list(STAGE_NAMES), "ticktext": list(STAGE_NAMES.values()),
                  "title": "stage"})
    return fig.update_layout(margin={"l": 230, "r": 40, "t": 50, "b": 130}, xaxis={"tickangle": -20})


def sponsor_radar(sponsors: pd.DataFrame) -> go.Figure:
    """The questionnaire's score (0-100) of each sponsor of success on a radar; sponsors not answered yet
    show at 0 and are named in the hover."""
    title = "The four sponsors of success (questionnaire score, 0-100)"
    require(sponsors, ["section", "is_sponsor", "score", "answered", "questions"], "sponsor_radar")
    rows = sponsors[sponsors["is_sponsor"].astype(bool)]
    if rows.empty or rows["score"].isna().all():
        return empty_figure(title, "no answers yet: run `crmw assess`")
    names = rows["section"].tolist()
    scores = [0.0 if pd.isna(s) else float(s) for s in rows["score"]]
    hover = [f"{n}: {s:.0f} ({a} of {q} answered)" if not pd.isna(raw) else f"{n}: not answered"
             for n, s, raw, a, q in zip(names, scores, rows["score"], rows["answered"], rows["questions"],
                                        strict=True)]
    fig = new_figure(go.Scatterpolar(r=scores + scores[:1], theta=names + names[:1], fill="toself",
                                     name="score", hovertext=hover + hover[:1], hoverinfo="text"))
    return finish(fig, title, showlegend=False,
                  polar={"radialaxis": {"range": [0, 100], "tickvals": [25, 50, 75, 100]}})
