"""BG/NBD purchase-frequency model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out
with probability p ~ Beta(a, b). Input rows are (frequency x, recency t_x, T): repeat purchases, time of the
last one and time since the first purchase, all in one time unit (days in the warehouse, weeks for CDNOW).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, hyp2f1
from sklearn.base import BaseEstimator

from models_ml.clv._fitting import as_columns, check_weights, first_bad_row, fit_log_params
from models_ml.clv.bgnbd_likelihood import BGNBDData, neg_log_likelihood

RFM_COLUMNS = ("frequency", "recency", "T")


def read_rfm(X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and check (frequency, recency, T): whole x >= 0, 0 <= t_x <= T, t_x = 0 when x = 0."""
    x, t_x, T = as_columns(X, RFM_COLUMNS)
    checks = [
        ((x < 0) | (x != np.round(x)), "frequency must be a whole number >= 0"),
        ((t_x < 0) | (t_x > T), "recency must lie in [0, T]"),
        ((x == 0) & (t_x != 0), "recency must be 0 when frequency is 0"),
    ]
    for bad, message in checks:
        if bad.any():
            raise ValueError(f"{message}; first offending row {first_bad_row(X, bad)!r}")
    return x, t_x, T


class BetaGeoNBD(BaseEstimator):
    """BG/NBD fitted by maximum likelihood; ``predict`` gives expected repeat purchases in the next ``horizon``.

    Parameters: ``horizon`` (in the data's time unit), ``tol`` and ``max_iter`` for L-BFGS-B. After ``fit``:
    ``r_``, ``alpha_``, ``a_``, ``b_``, ``params_`` and ``log_likelihood_`` (total, weighted).
    """

    def __init__(self, horizon: float = 365.0, tol: float = 1e-10, max_iter: int = 1000):
        self.horizon = horizon
        self.tol = tol
        self.max_iter = max_iter

    def _prepare(self, X, sample_weight) -> BGNBDData:
        x, t_x, T = read_rfm(X)
        return BGNBDData.build(x, t_x, T, check_weights(sample_weight, len(x)))

    def fit(self, X, y=None, sample_weight=None):
        """Maximum likelihood on (frequency, recency, T); identical rows are collapsed into weights."""
        data = self._prepare(X, sample_weight)
        if data.total_weight <= 0:
            raise ValueError("cannot fit on zero rows (or zero total weight)")
        start = np.array([0.0, np.log(max(data.mean_T, 1e-6)), 0.0, 0.0])
        log_params = fit_log_params(lambda p: neg_log_likelihood(p, data), start, self.tol, self.max_iter)
        self.r_, self.alpha_, self.a_, self.b_ = np.exp(log_params)
        self.params_ = {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}
        self.log_likelihood_ = -neg_log_likelihood(log_params, data)[0] * data.total_weight
        self.n_distinct_rows_ = data.n_distinct_rows
        return self

    def log_likelihood(self, X, sample_weight=None) -> float:
        """Total (weighted) log-likelihood of rows under the fitted parameters."""
        data = self._prepare(X, sample_weight)
        log_params = np.log([self.r_, self.alpha_, self.a_, self.b_])
        return -neg_log_likelihood(log_params, data)[0] * data.total_weight

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean log-likelihood per row (higher is better), for model selection."""
        w = check_weights(sample_weight, len(read_rfm(X)[0]))
        return self.log_likelihood(X, w) / w.sum()

    # -- predictions --------------------------------------------------------------------------------------
    def p_alive(self, X) -> np.ndarray:
        """P(still active at T | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
        x, t_x, T = read_rfm(X)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        log_odds_dead = (
            np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, expit(-log_odds_dead), 1.0)

    def conditional_expected_purchases(self, X, t: float) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005 eq. 10).

        The factor ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) is rewritten with Euler's
        transformation as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose terms stay small for large x.
        """
        if t < 0:
            raise ValueError(f"horizon t must be >= 0; got {t}")
        x, t_x, T = read_rfm(X)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        if np.isclose(a, 1.0):
            raise ValueError("a = 1 makes the closed form 0/0; refit or perturb the data")
        z = t / (alpha + T + t)
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        expected = (a + b + x - 1) / (a - 1) * (1.0 - tail) * self.p_alive(X)
        if not np.all(np.isfinite(expected)):
            raise ValueError(
                f"the hypergeometric function failed at r={r:.4g}, alpha={alpha:.4g}, a={a:.4g}, b={b:.4g}; "
                "a very large r means purchase rates hardly differ between customers (degenerate fit)"
            )
        return expected

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)] for a customer just acquired (unconditional), e.g. the cumulative tracking curve."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        zeros = np.zeros((1, 3))
        return np.array([self.conditional_expected_purchases(zeros, ti)[0] for ti in t])

    def predict(self, X) -> np.ndarray:
        """Expected repeat purchases in the next ``horizon`` time units."""
        return self.conditional_expected_purchases(X, self.horizon)
