"""The channel-shift what-if (models_ml.profitability.channel_shift) on tiny frames with exact values."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from models_ml.profitability import channel_shift


def customers() -> pd.DataFrame:
    """Three customers: a digital one in decile 1, two branch-heavy ones in decile 10."""
    return pd.DataFrame(
        {
            "customer_key": ["a", "b", "c"],
            "profit_decile": [1, 10, 10],
            "assisted_interactions": [2, 10, 4],
            "self_service_interactions": [10, 0, 10],
            "cost_to_serve_assisted": [36.00, 180.00, 40.00],
            "cost_to_serve_self_service": [0.30, 0.00, 0.70],
            "cost_to_serve": [36.30, 180.00, 40.70],
            "profit": [500.00, -100.00, -20.00],
        }
    )


def test_half_of_the_bottom_deciles_assisted_contacts_move_to_self_service():
    out = channel_shift(customers(), share=0.5, deciles=[10])
    # A self-service contact costs (0.30 + 0.70) / 20 = 0.05. Decile 10 moves 0.5 x 14 = 7 contacts, saves
    # 0.5 x 220.00 = 110.00 of assisted cost and adds 7 x 0.05 = 0.35 of self-service cost.
    assert out.attrs["self_service_cost_per_contact"] == pytest.approx(0.05)
    assert list(out.index) == [1, 10]
    bottom = out.loc[10]
    assert bottom["customers"] == 2
    assert bottom["assisted_interactions_moved"] == pytest.approx(7.0)
    assert bottom["cost_to_serve_before"] == pytest.approx(220.70)
    assert bottom["cost_to_serve_change"] == pytest.approx(-109.65)
    assert bottom["cost_to_serve_after"] == pytest.approx(111.05)
    assert bottom["profit_before"] == pytest.approx(-120.00)
    assert bottom["profit_change"] == pytest.approx(109.65)
    assert bottom["profit_after"] == pytest.approx(-10.35)
    top = out.loc[1]  # not chosen: unchanged
    assert (top["assisted_interactions_moved"], top["cost_to_serve_change"], top["profit_change"]) == (0, 0, 0)
    assert (top["profit_before"], top["profit_after"]) == (500.00, 500.00)


def test_a_given_unit_cost_every_decile_and_decile_level_input_agree():
    out = channel_shift(customers(), share=1.0, self_service_cost_per_contact=0.10)
    assert out.loc[1, "cost_to_serve_change"] == pytest.approx(-36.00 + 2 * 0.10)
    assert out.loc[10, "cost_to_serve_change"] == pytest.approx(-220.00 + 14 * 0.10)
    assert out["profit_change"].sum() == pytest.approx(35.80 + 218.60)
    # The model is linear: the same answer from one row per decile (with a customers count).
    per_decile = customers().drop(columns="customer_key").groupby("profit_decile", as_index=False).sum()
    per_decile["customers"] = [1, 2]
    pd.testing.assert_frame_equal(channel_shift(per_decile, 1.0, self_service_cost_per_contact=0.10), out)


def test_nothing_moves_at_share_zero_and_decimals_from_duckdb_work():
    frame = customers()
    for column in ("cost_to_serve_assisted", "cost_to_serve_self_service", "cost_to_serve", "profit"):
        frame[column] = [Decimal(f"{v:.2f}") for v in frame[column]]
    out = channel_shift(frame, share=0.0)
    assert (out["cost_to_serve_change"] == 0).all() and (out["profit_after"] == out["profit_before"]).all()
    assert not out["profit_change"].map(lambda v: str(v).startswith("-")).any()  # no "-0.0" on a dashboard


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["profit", "cost_to_serve"]), "missing column(s) cost_to_serve, profit"),
        (lambda f: f.assign(profit=[1.0, None, 2.0]), "null values in column(s) profit"),
        (lambda f: f.assign(profit_decile=[1, 10, 11]), "profit_decile values outside 1..10: [11]"),
        (lambda f: f.assign(cost_to_serve_assisted=[1.0, -2.0, 3.0]),
         "negative values in column(s) cost_to_serve_assisted"),
        (lambda f: f.assign(self_service_interactions=[0, 0, 0]), "no self-service contacts"),
    ],
)
def test_bad_input_is_refused_with_a_reason(change, message):
    with pytest.raises(ValueError) as raised:
        channel_shift(change(customers()), share=0.5)
    assert message in str(raised.value)


@pytest.mark.parametrize(("share", "deciles", "message"), [(1.5, [10], "share must be between 0 and 1"),
                                                          (0.5, [0, 10], "deciles must be in 1..10, got [0]")])
def test_bad_parameters_are_refused(share, deciles, message):
    with pytest.raises(ValueError) as raised:
        channel_shift(customers(), share=share, deciles=deciles)
    assert message in str(raised.value)
