"""Customer profitability analyses on top of the published marts (pure functions, no I/O)."""

from models_ml.profitability.channel_shift import channel_shift

__all__ = ["channel_shift"]
