"""Credibility (shrunk) mean spend: the fallback when Gamma-Gamma has no finite mean spend (q <= 1).

Each customer's expected value per purchase is a weighted mean of their own mean spend and the population's:

    E[value | x, zbar] = w zbar + (1 - w) mu,    w = x / (x + k),    k = sigma2 / tau2,

the Buhlmann-Straub credibility estimator (Buhlmann & Straub 1970; Klugman, Panjer & Willmot, "Loss Models",
ch. on empirical Bayes credibility), with its three structural parameters estimated by the method of
moments from the repeat purchases:

- sigma2, the within-customer variance of a purchase's value: the repeat purchases' sample variances pooled
  over customers with two or more repeat purchases, each weighted by its degrees of freedom (x - 1);
- tau2, the variance of the customers' true mean spend: (sum x (zbar - zw)^2 - (n - 1) sigma2) /
  (X - sum x^2 / X), with X = sum x and zw = sum x zbar / X the purchase-weighted mean (0 when negative:
  no heterogeneity shows, every customer gets mu);
- mu, the population mean spend: the credibility-weighted mean sum w zbar / sum w (zw when tau2 = 0).

Gamma-Gamma's prediction has the same form, w = p x / (p x + q - 1) and mu = p gamma / (q - 1); this
estimator needs only finite variances in the sample, not a finite mean of the fitted mixing distribution.
Input rows are (frequency x, monetary_value zbar, monetary_variance s^2): x repeat purchases, their mean and
sample variance (ddof 1; 0 where x < 2, and read only where x >= 2). ``predict`` needs only the first two;
rows with x = 0 are accepted and get mu.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from models_ml.clv._fitting import check_weights, first_bad_row
from models_ml.clv.gamma_gamma import read_spend

CREDIBILITY_COLUMNS = ("frequency", "monetary_value", "monetary_variance")


class CredibilitySpend(BaseEstimator):
    """Buhlmann-Straub credibility estimate of each customer's mean value per purchase.

    After ``fit``: ``mu_``, ``sigma2_``, ``tau2_``, ``k_`` (inf when tau2 = 0), ``params_`` and
    ``n_repeat_buyers_``. ``sample_weight`` counts each row that many times.
    """

    def fit(self, X, y=None, sample_weight=None):
        x, zbar, s2 = self._read(X)
        weight = check_weights(sample_weight, len(x)) * (x > 0)
        n = weight.sum()
        if n <= 0:
            raise ValueError("credibility spend needs at least one repeat buyer (frequency > 0)")
        degrees = weight * np.maximum(x - 1, 0)
        if degrees.sum() <= 0:
            raise ValueError("credibility spend needs a customer with two or more repeat purchases "
                             "(the within-customer variance)")
        sigma2 = float(degrees @ np.where(x >= 2, s2, 0.0) / degrees.sum())
        purchases = weight * x
        total = purchases.sum()
        overall = purchases @ zbar / total
        spread = total - (weight * x**2).sum() / total
        tau2 = (purchases @ (zbar - overall) ** 2 - (n - 1) * sigma2) / spread if spread > 0 else 0.0
        self.sigma2_, self.tau2_ = sigma2, max(float(tau2), 0.0)
        self.k_ = sigma2 / self.tau2_ if self.tau2_ > 0 else np.inf
        credibility = self._credibility(x)
        self.mu_ = float((weight * credibility) @ zbar / (weight @ credibility)) if self.tau2_ > 0 else float(overall)
        self.params_ = {"mu": self.mu_, "sigma2": self.sigma2_, "tau2": self.tau2_, "k": self.k_}
        self.n_repeat_buyers_ = n
        return self

    def predict(self, X) -> np.ndarray:
        """E[mean value per purchase | x, zbar] = w zbar + (1 - w) mu, w = x / (x + k); mu at x = 0."""
        x, zbar = read_spend(X)
        credibility = self._credibility(x)
        return credibility * np.where(x > 0, zbar, 0.0) + (1 - credibility) * self.mu_

    def _credibility(self, x: np.ndarray) -> np.ndarray:
        if not np.isfinite(self.k_):
            return np.zeros_like(x)
        with np.errstate(invalid="ignore"):  # k = 0 (no spread within customers): own mean, weight 1
            return np.where(x > 0, x / (x + self.k_), 0.0)

    @staticmethod
    def _read(X) -> list[np.ndarray]:
        x, zbar, s2 = read_spend(X, CREDIBILITY_COLUMNS)
        if (s2 < 0).any():
            raise ValueError(f"monetary_variance must be >= 0; first offending row {first_bad_row(X, s2 < 0)!r}")
        return [x, zbar, s2]
