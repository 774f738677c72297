"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves"; Hardie's note
"The Gamma-Gamma model of monetary value", 2013).

Each transaction value of a customer is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, so the mean
value zbar of x repeat purchases has a closed-form likelihood. Input rows are (frequency x, monetary_value
zbar): x repeat purchases and their mean value. Only repeat buyers (x > 0) carry information on spend.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator

from models_ml.clv._fitting import as_columns, check_weights, collapse_rows, first_bad_row, fit_log_params

SPEND_COLUMNS = ("frequency", "monetary_value")


def read_spend(X, columns: tuple[str, ...] = SPEND_COLUMNS) -> list[np.ndarray]:
    """Read and check (frequency, monetary_value, *other columns): whole x >= 0; zbar > 0 wherever x > 0."""
    x, zbar, *others = as_columns(X, columns)
    bad_x = (x < 0) | (x != np.round(x))
    if bad_x.any():
        raise ValueError(f"frequency must be a whole number >= 0; first offending row {first_bad_row(X, bad_x)!r}")
    bad_z = (x > 0) & (zbar <= 0)
    if bad_z.any():
        raise ValueError(
            "monetary_value must be > 0 for repeat buyers (Gamma-Gamma models positive spend); "
            f"first offending row {first_bad_row(X, bad_z)!r}"
        )
    return [x, zbar, *others]


class GammaGamma(BaseEstimator):
    """Gamma-Gamma fitted by maximum likelihood on repeat buyers; ``predict`` gives E[mean value | x, zbar].

    After ``fit``: ``p_``, ``q_``, ``gamma_``, ``params_``, ``log_likelihood_`` and ``n_repeat_buyers_``
    (rows with x = 0 are accepted and skipped: they say nothing about spend, by the model's definition).
    """

    def __init__(self, tol: float = 1e-10, max_iter: int = 1000):
        self.tol = tol
        self.max_iter = max_iter

    @staticmethod
    def _neg_ll_and_grad(log_params, data):
        """Mean negative log-likelihood of zbar given x, and its gradient in log-parameters.

        ln f = lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(zbar) + px ln(x) - (px+q) ln(gamma+x zbar)
        """
        x, zbar, w, total_weight = data
        p, q, gamma = np.exp(log_params)
        px = p * x
        log_gz = np.log(gamma + x * zbar)
        log_z, log_x = np.log(zbar), np.log(x)
        ll = w @ (gammaln(px + q) - gammaln(px) + (px - 1) * log_z + px * log_x - (px + q) * log_gz)
        ll += total_weight * (q * np.log(gamma) - gammaln(q))
        psi_pxq = digamma(px + q)
        dp = w @ (x * (psi_pxq - digamma(px) + log_z + log_x - log_gz))
        dq = w @ (psi_pxq - log_gz) + total_weight * (np.log(gamma) - digamma(q))
        dgamma = total_weight * q / gamma - w @ ((px + q) / (gamma + x * zbar))
        grad = np.array([dp, dq, dgamma]) * np.array([p, q, gamma])
        return -ll / total_weight, -grad / total_weight

    def _prepare(self, X, sample_weight):
        x, zbar = read_spend(X)
        w = check_weights(sample_weight, len(x)) * (x > 0)
        (x, zbar), w = collapse_rows([x, zbar], w)
        return x, zbar, w, w.sum()

    def fit(self, X, y=None, sample_weight=None):
        """Maximum likelihood on the repeat buyers' (frequency, monetary_value); identical rows collapsed."""
        data = self._prepare(X, sample_weight)
        if data[-1] <= 0:
            raise ValueError("Gamma-Gamma needs at least one repeat buyer (frequency > 0)")
        x, zbar, w = data[:3]
        start = np.array([0.0, np.log(2.0), np.log(np.average(zbar, weights=w))])
        log_params = fit_log_params(lambda v: self._neg_ll_and_grad(v, data), start, self.tol, self.max_iter)
        self.p_, self.q_, self.gamma_ = np.exp(log_params)
        self.params_ = {"p": self.p_, "q": self.q_, "gamma": self.gamma_}
        self.log_likelihood_ = -self._neg_ll_and_grad(log_params, data)[0] * data[-1]
        self.n_repeat_buyers_ = data[-1]
        return self

    def predict(self, X) -> np.ndarray:
        """E[mean transaction value | x, zbar] = p (gamma + x zbar) / (p x + q - 1); the population mean at x=0."""
        x, zbar = read_spend(X)
        if self.q_ <= 1:
            raise ValueError(f"q = {self.q_:.4g} <= 1: the population mean spend is infinite")
        zbar = np.where(x > 0, zbar, 0.0)
        return self.p_ * (self.gamma_ + x * zbar) / (self.p_ * x + self.q_ - 1)
