"""What the segment profiles add beyond sizes and sums: how customers moved between segments since the last
refresh, what sets each segment apart from the base, and which segments lose money persistently and why.

- Migration: previous and current segment per customer (a full join on customer_key); a customer missing on
  one side moves from ``(new)`` or to ``(gone)``.
- Differentiators: for each segment and profile feature, (segment mean - base mean) / base standard
  deviation; the three largest in absolute value, as text ("products held +1.3 sd; assisted share -0.8 sd").
- Undesirable: a segment whose summed profit is negative in every one of the trailing periods given
  (``profit_q1`` .. ``profit_q4``: the four 3-month blocks of the trailing 12 months), i.e. persistently,
  not in one bad quarter. Its cost drivers are the cost components whose mean per customer is highest
  against the base's mean per customer (at most two, only those at least 1.1x the base); when no cost is that
  far above the base, the segment loses money on low revenue, and its revenue per customer against the base's is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEW, GONE = "(new)", "(gone)"
DIFFERENTIATOR_FEATURES = {
    "clv": "CLV", "profit": "profit", "products_held": "products held", "assisted_share": "assisted share",
    "interactions": "service contacts", "frequency": "purchase days", "monetary": "spend",
}
COST_COMPONENTS = {
    "direct_cost": "direct cost", "cost_to_serve_assisted": "assisted cost to serve",
    "cost_to_serve_self_service": "self-service cost to serve", "servicing_cost": "servicing cost",
    "marketing_cost": "marketing cost",
}
PERIODS = ("profit_q1", "profit_q2", "profit_q3", "profit_q4")
DRIVER_RATIO = 1.1  # a cost component at least this many times the base's mean per customer is a driver


def segment_migration(previous: pd.DataFrame, current: pd.DataFrame, dimensions: tuple[str, ...]) -> pd.DataFrame:
    """``previous`` and ``current``: customer_key and the ``dimensions`` columns -> one row per
    (segment_type, from_segment, to_segment) with customers, in segment_type, from, to order."""
    joined = previous.merge(current, on="customer_key", how="outer", suffixes=("_from", "_to"), indicator=True)
    parts = []
    for dimension in dimensions:
        source = joined[f"{dimension}_from"].astype(object).where(joined["_merge"] != "right_only", NEW)
        target = joined[f"{dimension}_to"].astype(object).where(joined["_merge"] != "left_only", GONE)
        frame = pd.DataFrame({"from_segment": source.fillna("(none)").astype(str),
                              "to_segment": target.fillna("(none)").astype(str)})
        counted = frame.value_counts().rename("customers").reset_index()
        parts.append(counted.assign(segment_type=dimension))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["segment_type", "from_segment", "to_segment", "customers"])
    return out[["segment_type", "from_segment", "to_segment", "customers"]].sort_values(
        ["segment_type", "from_segment", "to_segment"], kind="stable").reset_index(drop=True)


def differentiators(segments: pd.DataFrame, dimension: str, top: int = 3) -> pd.Series:
    """Per segment of ``dimension`` (index), the ``top`` features furthest from the base, as text."""
    features = pd.DataFrame({name: segments[name] for name in DIFFERENTIATOR_FEATURES if name in segments.columns})
    if "assisted_interactions" in segments.columns and "self_service_interactions" in segments.columns:
        contacts = segments["assisted_interactions"].fillna(0) + segments["self_service_interactions"].fillna(0)
        features["interactions"] = contacts
        features["assisted_share"] = (segments["assisted_interactions"].fillna(0) / contacts.where(contacts > 0)
                                      ).fillna(0.0)
    features = features.astype(float).fillna(0.0)
    std = features.std(ddof=0).replace(0.0, np.nan)
    z = (features.groupby(segments[dimension].to_numpy()).mean() - features.mean()) / std
    out = {}
    for segment, row in z.iterrows():
        ranked = row.dropna().reindex(row.dropna().abs().sort_values(ascending=False, kind="stable").index)
        out[segment] = "; ".join(f"{DIFFERENTIATOR_FEATURES[name]} {value:+.1f} sd" for name, value in
                                 ranked.head(top).items() if abs(value) >= 0.05)
    return pd.Series(out, name="differentiators", dtype=object)


def undesirable_segments(segments: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Per segment of ``dimension`` (index): negative_periods (of the PERIODS present), is_undesirable and
    cost_drivers (text, empty unless undesirable)."""
    periods = [p for p in PERIODS if p in segments.columns]
    groups = segments.groupby(segments[dimension].to_numpy())
    sums = groups[periods].sum(min_count=1) if periods else pd.DataFrame(index=groups.size().index)
    negative = (sums < 0).sum(axis=1)
    undesirable = (negative == len(periods)) & (len(periods) > 0)
    components = [c for c in COST_COMPONENTS if c in segments.columns]
    base = segments[components].astype(float).fillna(0.0).mean()
    means = groups[components].mean()
    if "revenue" in segments.columns:
        base_revenue = float(segments["revenue"].astype(float).fillna(0.0).mean())
        means_revenue = groups["revenue"].mean()
    else:
        base_revenue, means_revenue = 0.0, None
    drivers = {}
    for segment in sums.index:
        if not undesirable[segment]:
            drivers[segment] = ""
            continue
        ratio = (means.loc[segment] / base.replace(0.0, np.nan)).dropna()
        ratio = ratio[ratio >= DRIVER_RATIO].sort_values(ascending=False, kind="stable").head(2)
        text = "; ".join(f"{COST_COMPONENTS[c]} {r:.1f}x the base" for c, r in ratio.items())
        if not text and "revenue" in segments.columns and base_revenue:
            revenue = means_revenue[segment] / base_revenue
            text = f"no cost {DRIVER_RATIO:.1f}x the base or more; revenue {revenue:.1f}x the base"
        drivers[segment] = text
    return pd.DataFrame({"negative_periods": negative.astype(int), "is_undesirable": undesirable.astype(bool),
                         "cost_drivers": pd.Series(drivers, dtype=object)})
