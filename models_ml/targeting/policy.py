"""Which customers to contact for the same money: the historic random 1-in-12 mailing against targeting by
expected value per contact, measured on held-out campaigns.

The historic campaigns selected customers at random and held a random control group out, so on a held-out
campaign every contacted customer's response *with* contact is observed, and the control group tells what
customers of the same score would have done *without* it. Both policies get the same budget, a share
(``budget_share``) of what the held-out mailings cost:

- **random 1 in 12**: the same money spent on a random part of the historic mailing. Its figures are the
  expected ones of such a random draw: the share f = budget / historic spend of the contacts, responders,
  response value and baseline (exact, no sampling noise).
- **targeted by expected value**: contacts ranked by expected value per contact = p(response) x value per
  response - cost per contact, taken from the top while the expected value is positive and the cost still
  fits the budget.

Incremental profit = response value of the contacted - what they would have brought without contact
(baseline) - contact cost. The baseline of a contact is the response rate of the control-group members of
the same score decile (deciles over everyone selected by the held-out campaigns, contacted or control) x the
campaign's mean response value: high-scored customers also respond more on their own, so a flat control
rate would flatter targeting. ROI = incremental profit / money spent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_ml.targeting.propensity import score_deciles

SELECTION_COLUMNS = ("campaign_key", "customer_key", "is_control", "responded", "response_value", "cost_per_contact",
                     "p_response", "value_per_response")
RANDOM, TARGETED = "random_1_in_12", "targeted_expected_value"


def expected_value(p_response, value_per_response, cost_per_contact):
    """Expected profit of one contact: p(response) x value per response - cost per contact."""
    return np.asarray(p_response, dtype=float) * np.asarray(value_per_response, dtype=float) - np.asarray(
        cost_per_contact, dtype=float)


def with_baseline(selections: pd.DataFrame) -> pd.DataFrame:
    """``selections`` with score_decile, baseline_rate (control response rate of the decile, else of all
    controls, else 0) and baseline_value (baseline_rate x the campaign's mean response value)."""
    missing = [c for c in SELECTION_COLUMNS if c not in selections.columns]
    if missing:
        raise ValueError(f"selections are missing column(s) {missing}")
    frame = selections.reset_index(drop=True).copy()
    frame["responded"] = frame["responded"].astype(bool)
    frame["response_value"] = frame["response_value"].fillna(0.0).astype(float).where(frame["responded"], 0.0)
    frame["score_decile"] = score_deciles(frame["p_response"],
                                          frame["customer_key"].astype(str) + "|" + frame["campaign_key"].astype(str))
    controls = frame[frame["is_control"]]
    overall = controls["responded"].mean() if len(controls) else 0.0
    by_decile = controls.groupby("score_decile")["responded"].mean()
    frame["baseline_rate"] = frame["score_decile"].map(by_decile).fillna(overall).astype(float)
    responders = frame[frame["responded"]]
    mean_value = responders.groupby("campaign_key")["response_value"].mean()
    fallback = responders["response_value"].mean() if len(responders) else 0.0
    frame["baseline_value"] = frame["baseline_rate"] * frame["campaign_key"].map(mean_value).fillna(fallback)
    return frame


def compare_policies(selections: pd.DataFrame, budget_share: float) -> pd.DataFrame:
    """One row per policy: budget, spend, contacts, responders, response_rate, response_value,
    baseline_responders, incremental_responders, incremental_profit, roi (see the module docstring)."""
    if not 0.0 < budget_share <= 1.0:
        raise ValueError(f"budget_share = {budget_share!r} must be in (0, 1]")
    frame = with_baseline(selections)
    contacted = frame[~frame["is_control"]].copy()
    spend = float(contacted["cost_per_contact"].sum())
    if contacted.empty or spend <= 0:
        raise ValueError("the held-out campaigns contacted nobody at a cost: no budget to compare policies at")
    budget = budget_share * spend
    contacted["expected_value"] = expected_value(contacted["p_response"], contacted["value_per_response"],
                                                 contacted["cost_per_contact"])
    ranked = contacted.sort_values(["expected_value", "customer_key", "campaign_key"],
                                   ascending=[False, True, True], kind="stable")
    ranked = ranked[ranked["expected_value"] > 0]
    chosen = ranked[ranked["cost_per_contact"].cumsum() <= budget + 1e-9]

    def row(policy: str, part: pd.DataFrame, weight: float) -> dict:
        cost = weight * float(part["cost_per_contact"].sum())
        contacts, responders = weight * len(part), weight * float(part["responded"].sum())
        value = weight * float(part["response_value"].sum())
        baseline_responders = weight * float(part["baseline_rate"].sum())
        incremental = value - weight * float(part["baseline_value"].sum()) - cost
        return {"policy": policy, "budget": budget, "spend": cost, "contacts": contacts, "responders": responders,
                "response_rate": responders / contacts if contacts else np.nan, "response_value": value,
                "baseline_responders": baseline_responders, "incremental_responders": responders - baseline_responders,
                "incremental_profit": incremental, "roi": incremental / cost if cost else np.nan}

    return pd.DataFrame([row(RANDOM, contacted, budget / spend), row(TARGETED, chosen, 1.0)])
