"""Target lists: whom a campaign with a budget contacts, and the random control group held out of it.

Customers whose treatment is excluded (default "do not target") are never listed. The others are ranked by
expected value per contact (p_response x value per response - cost per contact; ties by customer_key), and
only a positive expected value is listed. The budget buys floor(budget / cost) contacts; to them a control
group of round(contacts x share / (1 - share)) customers is added, so controls are ``control_share`` of the
list; when fewer customers qualify, the list is all of them with round(n x share) controls. Controls are
drawn at random from the whole list (a seeded draw per campaign name), so they are like the contacted and
measure what contact adds; they are not contacted and cost nothing.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd

from models_ml.targeting.policy import expected_value

SCORE_COLUMNS = ("customer_key", "p_response", "value_per_response", "reason_codes", "treatment")
LIST_COLUMNS = ("customer_key", "score", "expected_value", "reason_codes", "treatment", "is_control")


def list_sizes(qualifying: int, budget: float, cost_per_contact: float, control_share: float) -> tuple[int, int]:
    """(contacts, controls) of a list over ``qualifying`` customers (see the module docstring)."""
    if cost_per_contact <= 0:
        raise ValueError(f"cost per contact {cost_per_contact!r} must be positive: the budget buys contacts")
    if budget < 0:
        raise ValueError(f"budget {budget!r} must not be negative")
    if not 0.0 <= control_share < 1.0:
        raise ValueError(f"control share {control_share!r} must be in [0, 1)")
    contacts = int(math.floor(budget / cost_per_contact + 1e-9))
    controls = int(round(contacts * control_share / (1 - control_share)))
    if contacts + controls > qualifying:
        controls = int(round(qualifying * control_share))
        contacts = qualifying - controls
    return contacts, controls


def select_targets(scores: pd.DataFrame, campaign: str, budget: float, cost_per_contact: float,
                   control_share: float = 0.10, seed: int = 42,
                   exclude_treatments: tuple[str, ...] | list[str] = ("do not target",)) -> pd.DataFrame:
    """The target list of ``campaign``: one row per listed customer, best expected value first, with
    ``is_control`` marking the random control group."""
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"scores are missing column(s) {missing}")
    frame = scores[~scores["treatment"].isin(list(exclude_treatments))].copy()
    frame["expected_value"] = expected_value(frame["p_response"], frame["value_per_response"], cost_per_contact)
    frame = frame[frame["expected_value"] > 0].sort_values(["expected_value", "customer_key"],
                                                          ascending=[False, True], kind="stable")
    contacts, controls = list_sizes(len(frame), budget, cost_per_contact, control_share)
    listed = frame.head(contacts + controls).reset_index(drop=True)
    rng = np.random.default_rng([seed, zlib.crc32(campaign.encode("utf-8"))])
    is_control = np.zeros(len(listed), dtype=bool)
    is_control[rng.choice(len(listed), size=controls, replace=False)] = True
    listed["is_control"] = is_control
    return listed.rename(columns={"p_response": "score"})[list(LIST_COLUMNS)]
