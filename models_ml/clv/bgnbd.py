"""BG/NBD purchase-frequency model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out
with probability p ~ Beta(a, b). Input rows are (frequency x, recency t_x, T): repeat purchases, time of the
last one and time since the first purchase, all in one time unit (days in the warehouse, weeks for CDNOW).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator

from models_ml.clv._fitting import as_columns, check_weights, collapse_rows, first_bad_row, fit_log_params

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

    # -- likelihood ---------------------------------------------------------------------------------------
    @staticmethod
    def _neg_ll_and_grad(log_params, x_unique, x_weight, x, t_x, T, w, total_weight):
        """Mean negative log-likelihood and its gradient in log-parameters.

        Terms that depend on x only (gammaln/digamma/betaln) are computed once per distinct x and weighted by
        the total weight of that x, so the per-row work is a few logs and one log-sum-exp.
        """
        r, alpha, a, b = np.exp(log_params)
        ux = x_unique
        # log L = [lnG(r+x) - lnG(r) + r ln(alpha)] + [lnB(a, b+x) - lnB(a, b)]
        #         + ln( (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) )
        # using B(a+1, b+x-1) = B(a, b+x) a / (b+x-1).
        per_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
        log_aT = np.log(alpha + T)
        log_at = np.log(alpha + t_x)
        rx = r + x
        repeat = x > 0
        d1 = -rx * log_aT
        d2 = np.where(repeat, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - rx * log_at, -np.inf)
        s = np.logaddexp(d1, d2)
        ll = x_weight @ per_x + total_weight * r * np.log(alpha) + w @ s

        p2 = np.exp(d2 - s)  # share of the "dropped out just after t_x" branch
        p1 = 1.0 - p2
        dr = x_weight @ (digamma(r + ux) - digamma(r)) + total_weight * np.log(alpha) - w @ (p1 * log_aT + p2 * log_at)
        dalpha = total_weight * r / alpha - w @ (rx * (p1 / (alpha + T) + p2 / (alpha + t_x)))
        da = x_weight @ (digamma(a + b) - digamma(a + b + ux)) + (w @ p2) / a
        db = x_weight @ (digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b)) - w @ (
            p2 / (b + np.maximum(x, 1) - 1)
        )
        grad = np.array([dr, dalpha, da, db]) * np.array([r, alpha, a, b])
        return -ll / total_weight, -grad / total_weight

    def _prepare(self, X, sample_weight):
        x, t_x, T = read_rfm(X)
        w = check_weights(sample_weight, len(x))
        (x, t_x, T), w = collapse_rows([x, t_x, T], w)
        x_unique, x_index = np.unique(x, return_inverse=True)
        x_weight = np.bincount(x_index, weights=w, minlength=len(x_unique))
        return x_unique, x_weight, x, t_x, T, w, w.sum()

    def fit(self, X, y=None, sample_weight=None):
        """Maximum likelihood on (frequency, recency, T); identical rows are collapsed into weights."""
        data = self._prepare(X, sample_weight)
        if data[-1] <= 0:
            raise ValueError("cannot fit on zero rows (or zero total weight)")
        T, w = data[4], data[5]
        start = np.array([0.0, np.log(max(np.average(T, weights=w), 1e-6)), 0.0, 0.0])
        log_params = fit_log_params(lambda p: self._neg_ll_and_grad(p, *data), start, self.tol, self.max_iter)
        self.r_, self.alpha_, self.a_, self.b_ = np.exp(log_params)
        self.params_ = {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}
        self.log_likelihood_ = -self._neg_ll_and_grad(log_params, *data)[0] * data[-1]
        self.n_distinct_rows_ = len(data[2])
        return self

    def log_likelihood(self, X, sample_weight=None) -> float:
        """Total (weighted) log-likelihood of rows under the fitted parameters."""
        data = self._prepare(X, sample_weight)
        log_params = np.log([self.r_, self.alpha_, self.a_, self.b_])
        return -self._neg_ll_and_grad(log_params, *data)[0] * data[-1]

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
        return (a + b + x - 1) / (a - 1) * (1.0 - tail) * self.p_alive(X)

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)] for a customer just acquired (unconditional), e.g. the cumulative tracking curve."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        zeros = np.zeros((1, 3))
        return np.array([self.conditional_expected_purchases(zeros, ti)[0] for ti in t])

    def predict(self, X) -> np.ndarray:
        """Expected repeat purchases in the next ``horizon`` time units."""
        return self.conditional_expected_purchases(X, self.horizon)
