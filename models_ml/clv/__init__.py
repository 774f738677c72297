"""Customer lifetime value: BG/NBD, Gamma-Gamma and credibility-spend estimators, RFM summaries, discounted
CLV, backtests."""

from models_ml.clv.backtest import Backtest, backtest_purchases, forecast_metrics
from models_ml.clv.bgnbd import BetaGeoNBD
from models_ml.clv.credibility import CredibilitySpend
from models_ml.clv.gamma_gamma import GammaGamma
from models_ml.clv.rfm import purchase_days, purchases_in_window, rfm_summary
from models_ml.clv.simulate import simulate_bgnbd
from models_ml.clv.value import discounted_clv

__all__ = [
    "Backtest",
    "BetaGeoNBD",
    "CredibilitySpend",
    "GammaGamma",
    "backtest_purchases",
    "discounted_clv",
    "forecast_metrics",
    "purchase_days",
    "purchases_in_window",
    "rfm_summary",
    "simulate_bgnbd",
]
