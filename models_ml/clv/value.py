"""Discounted customer lifetime value over a finite horizon from a fitted BG/NBD and a value per purchase."""

from __future__ import annotations

import numpy as np

from models_ml.clv.bgnbd import BetaGeoNBD

DAYS_PER_YEAR = 365.25


def discounted_clv(
    purchase_model: BetaGeoNBD,
    X,
    value_per_purchase,
    horizon_days: float,
    annual_discount_rate: float,
    time_unit_days: float = 1.0,
    step_days: float = 30.0,
) -> np.ndarray:
    """Sum over steps of (expected purchases in the step) x value x (1 + rate)^-(step midpoint in years).

    BG/NBD has no closed form for discounted purchases, so the horizon is cut into steps of ``step_days``
    (the last one shorter); purchases in a step are discounted from its midpoint. ``value_per_purchase`` is a
    scalar or one value per row (e.g. Gamma-Gamma expected spend, or margin per purchase); ``X`` holds
    (frequency, recency, T) in units of ``time_unit_days``. With rate 0 this is exactly E[purchases in the
    horizon] x value.
    """
    if horizon_days < 0 or step_days <= 0 or time_unit_days <= 0:
        raise ValueError("horizon_days must be >= 0, step_days and time_unit_days > 0")
    if annual_discount_rate <= -1:
        raise ValueError(f"annual_discount_rate must be > -1; got {annual_discount_rate}")
    edges = np.append(np.arange(0.0, horizon_days, step_days), horizon_days)
    cumulative = np.column_stack(
        [np.zeros(len(purchase_model.p_alive(X)))]
        + [purchase_model.conditional_expected_purchases(X, e / time_unit_days) for e in edges[1:]]
    )
    midpoints_years = (edges[:-1] + edges[1:]) / 2 / DAYS_PER_YEAR
    discount = (1.0 + annual_discount_rate) ** -midpoints_years
    return (np.diff(cumulative, axis=1) @ discount) * np.asarray(value_per_purchase, dtype=float)
