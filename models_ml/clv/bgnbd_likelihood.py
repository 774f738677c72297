"""BG/NBD log-likelihood and its analytic gradient, arranged so that a fit on a million customers is cheap.

For one customer (FHL 2005 eq. 6, with B(a+1, b+x-1) = B(a, b+x) a / (b+x-1)):

    ln L = lnG(r+x) - lnG(r) + r ln(alpha) + lnB(a, b+x) - lnB(a, b)
           + ln( (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) )

Terms in x alone are computed once per distinct x, logs of alpha+T and alpha+t_x once per distinct time, and
customers without repeat purchases once per distinct T; only repeat buyers' distinct rows need per-row work,
where the last term is ln(alpha+T)^-(r+x) + softplus(u) with u the log-ratio of its two branches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

from models_ml.clv._fitting import collapse_rows


@dataclass(frozen=True)
class BGNBDData:
    """Weighted distinct (x, t_x, T) rows, indexed into their distinct x and time values."""

    x_values: np.ndarray  # distinct x over all rows
    x_weight: np.ndarray  # total weight per distinct x
    T_values: np.ndarray  # distinct T over all rows
    zero_weight_by_T: np.ndarray  # weight of x = 0 rows per distinct T
    t_values: np.ndarray  # distinct t_x over repeat rows
    x_index: np.ndarray  # repeat rows (x > 0): index into x_values
    T_index: np.ndarray  # repeat rows: index into T_values
    t_index: np.ndarray  # repeat rows: index into t_values
    x: np.ndarray  # repeat rows: x
    weight: np.ndarray  # repeat rows: weight
    total_weight: float
    mean_T: float  # weighted mean of T, the optimiser's starting alpha
    n_distinct_rows: int

    @classmethod
    def build(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray) -> BGNBDData:
        (x, t_x, T), weight = collapse_rows([x, t_x, T], weight)
        x_values, x_all_index = np.unique(x, return_inverse=True)
        T_values, T_all_index = np.unique(T, return_inverse=True)
        repeat = x > 0
        t_values, t_index = np.unique(t_x[repeat], return_inverse=True)
        return cls(
            x_values=x_values,
            x_weight=np.bincount(x_all_index, weights=weight, minlength=len(x_values)),
            T_values=T_values,
            zero_weight_by_T=np.bincount(T_all_index[~repeat], weights=weight[~repeat], minlength=len(T_values)),
            t_values=t_values,
            x_index=x_all_index[repeat],
            T_index=T_all_index[repeat],
            t_index=t_index,
            x=x[repeat],
            weight=weight[repeat],
            total_weight=float(weight.sum()),
            mean_T=float(T @ weight / weight.sum()) if weight.sum() > 0 else 0.0,
            n_distinct_rows=len(x),
        )


def neg_log_likelihood(log_params: np.ndarray, data: BGNBDData) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood per unit weight and its gradient in (ln r, ln alpha, ln a, ln b)."""
    r, alpha, a, b = np.exp(log_params)
    ux, W, w = data.x_values, data.total_weight, data.weight
    log_aT_values = np.log(alpha + data.T_values)
    log_at_values = np.log(alpha + data.t_values)
    # ln( a/(b+x-1) ) for each distinct x > 0 (x = 0 rows never read it).
    log_ratio_values = np.log(a) - np.log(b + np.maximum(ux, 1) - 1)

    # Repeat buyers: last term = -(r+x) ln(alpha+T) + softplus(u), u = ln(a/(b+x-1)) - (r+x) ln((alpha+t_x)/(alpha+T)).
    rx = r + data.x
    log_aT = log_aT_values[data.T_index]
    log_gap = log_at_values[data.t_index] - log_aT
    u = log_ratio_values[data.x_index] - rx * log_gap
    e = np.exp(-np.abs(u))
    softplus = np.maximum(u, 0.0) + np.log1p(e)
    p_dropped = np.where(u >= 0, 1.0, e) / (1.0 + e)  # posterior weight of "dropped out just after t_x"

    per_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
    ll = (
        data.x_weight @ per_x
        + W * r * np.log(alpha)
        - r * (data.zero_weight_by_T @ log_aT_values)
        + w @ (softplus - rx * log_aT)
    )

    inv_aT_values = 1.0 / (alpha + data.T_values)
    inv_aT = inv_aT_values[data.T_index]
    inv_at = 1.0 / (alpha + data.t_values[data.t_index])
    dropped_by_x = np.bincount(data.x_index, weights=w * p_dropped, minlength=len(ux))
    d_r = (
        data.x_weight @ (digamma(r + ux) - digamma(r))
        + W * np.log(alpha)
        - data.zero_weight_by_T @ log_aT_values
        - w @ (log_aT + p_dropped * log_gap)
    )
    d_alpha = (
        W * r / alpha
        - r * (data.zero_weight_by_T @ inv_aT_values)
        - w @ (rx * (inv_aT + p_dropped * (inv_at - inv_aT)))
    )
    d_a = data.x_weight @ (digamma(a + b) - digamma(a + b + ux)) + dropped_by_x.sum() / a
    d_b = data.x_weight @ (digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b)) - dropped_by_x @ (
        1.0 / (b + np.maximum(ux, 1) - 1)
    )
    grad = np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b])
    return -ll / W, -grad / W
