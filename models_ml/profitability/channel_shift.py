"""Channel-shift what-if: what if a share of the assisted (staffed) contacts of some profit deciles moved to
self-service channels? Pure and vectorised: a frame in (customers or deciles), a frame out per decile.

Cost to serve is time-driven activity-based costing (seeds/ rates), so it is linear in contacts: moving a
share s of a customer's assisted contacts saves s of their assisted cost to serve and adds, for each contact
moved, the cost of one self-service contact. Customers keep the decile they have now (the question is what
happens to today's deciles), and revenue is assumed not to change.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

DECILES = range(1, 11)
REQUIRED = (
    "profit_decile",
    "assisted_interactions",
    "self_service_interactions",
    "cost_to_serve_assisted",
    "cost_to_serve_self_service",
    "cost_to_serve",
    "profit",
)
COLUMNS = (
    "customers",
    "assisted_interactions_moved",
    "cost_to_serve_before",
    "cost_to_serve_after",
    "cost_to_serve_change",
    "profit_before",
    "profit_after",
    "profit_change",
)


def _validate(frame: pd.DataFrame, share: float, deciles: list[int]) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"channel_shift: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})")
    nulls = [c for c in REQUIRED if frame[c].isna().any()]
    if nulls:
        raise ValueError(f"channel_shift: null values in column(s) {', '.join(nulls)}")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"channel_shift: share must be between 0 and 1, got {share}")
    unknown = sorted(set(deciles) - set(DECILES))
    if unknown:
        raise ValueError(f"channel_shift: deciles must be in 1..10, got {unknown}")
    bad = sorted(set(frame["profit_decile"].astype(int)) - set(DECILES))
    if bad:
        raise ValueError(f"channel_shift: profit_decile values outside 1..10: {bad}")
    negative = [c for c in REQUIRED[1:6] if (frame[c] < 0).any()]
    if negative:
        raise ValueError(f"channel_shift: negative values in column(s) {', '.join(negative)}")


def self_service_unit_cost(frame: pd.DataFrame) -> float:
    """Observed cost of one self-service contact: self-service cost to serve over self-service contacts."""
    contacts = float(frame["self_service_interactions"].sum())
    if contacts <= 0:
        raise ValueError(
            "channel_shift: no self-service contacts to price a moved contact by; pass self_service_cost_per_contact"
        )
    return float(frame["cost_to_serve_self_service"].sum()) / contacts


def channel_shift(
    frame: pd.DataFrame,
    share: float,
    deciles: Iterable[int] = DECILES,
    self_service_cost_per_contact: float | None = None,
) -> pd.DataFrame:
    """Move `share` (0..1) of the assisted contacts of the customers in `deciles` to self-service.

    `frame` has one row per customer (marts.customer_profitability) or per decile (sums per decile give the
    same answer, the model being linear) with the columns in REQUIRED. A moved contact costs
    `self_service_cost_per_contact`, by default the observed self-service cost per self-service contact in
    `frame`. Returns one row per decile present in `frame` (index profit_decile) with customers, assisted
    contacts moved, cost to serve and profit before and after, and their change; money rounded to cents.
    """
    chosen = sorted({int(d) for d in deciles})
    _validate(frame, share, chosen)
    unit = self_service_unit_cost(frame) if self_service_cost_per_contact is None else self_service_cost_per_contact
    if unit < 0:
        raise ValueError(f"channel_shift: self_service_cost_per_contact must not be negative, got {unit}")

    decile = frame["profit_decile"].astype(int).to_numpy()
    moving = np.isin(decile, chosen) * share
    moved = moving * frame["assisted_interactions"].to_numpy(dtype=float)
    change = moved * unit - moving * frame["cost_to_serve_assisted"].to_numpy(dtype=float)
    per_row = pd.DataFrame(
        {
            "profit_decile": decile,
            "customers": frame["customers"].to_numpy() if "customers" in frame.columns else 1,
            "assisted_interactions_moved": moved,
            "cost_to_serve_before": frame["cost_to_serve"].to_numpy(dtype=float),
            "cost_to_serve_change": change,
            "profit_before": frame["profit"].to_numpy(dtype=float),
        }
    )
    out = per_row.groupby("profit_decile").sum().round(2)
    out["cost_to_serve_after"] = (out["cost_to_serve_before"] + out["cost_to_serve_change"]).round(2)
    out["profit_change"] = 0.0 - out["cost_to_serve_change"] + 0.0  # no negative zeros
    out["profit_after"] = (out["profit_before"] + out["profit_change"]).round(2)
    out["customers"] = out["customers"].astype("int64")
    out.attrs["self_service_cost_per_contact"] = unit
    out.attrs["share"] = share
    out.attrs["deciles"] = chosen
    return out[list(COLUMNS)]
