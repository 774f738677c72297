"""The hidden truth of a demo run: who is who across systems, who makes money, what campaigns did.

Profit per person follows DESIGN.md §4: revenue − direct cost − cost to serve (interactions × standard
minutes × channel cost per minute, from the seeds) − monthly servicing cost per holding − marketing
contact cost, all from the clean values before any defect was planted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.demo_bank import reference as ref
from orchestration.demo_bank.common import date_array, id_array, labels, money_array
from orchestration.demo_bank.events import Campaigns, Holdings, Ledger
from orchestration.demo_bank.systems import Records
from orchestration.demo_bank.world import Persons


def _cents(x: np.ndarray) -> pa.Array:
    return money_array(np.rint(x).astype(np.int64))


@dataclass
class Truth:
    persons: pa.Table
    identity_map: pa.Table
    unprofitable_share: float
    top20_profit_share: float | None  # share of total profit earned by the most profitable fifth
    campaign_lift: float | None  # response rate of contacted over control
    lift_by_propensity_band: dict[str, dict[str, float]]  # response rates of contacted and control


def build_truth(
    persons: Persons,
    h: Holdings,
    ledger: Ledger,
    camp: Campaigns,
    records: dict[str, Records],
    s: int,
    e: int,
) -> Truth:
    """The hidden answers: who is who across systems, who makes money, and what campaigns really did."""
    n = len(persons)
    person_ids = id_array("P", np.arange(1, n + 1), 8)
    live = np.flatnonzero(persons.join_day <= e)
    # Identity map: every customer record delivered by the end date.
    parts = []
    for system, rec in records.items():
        keep = np.flatnonzero(rec.created_day <= e)
        # Perturbation names joined with '|', built per flag column with Arrow, never per row.
        flagged = [pc.if_else(pa.array(rec.flags[k][keep]), k + "|", "") for k in sorted(rec.flags)]
        text = pc.utf8_rtrim(pc.binary_join_element_wise(*flagged, ""), "|")
        parts.append(
            pa.table(
                {
                    "source_system": pa.repeat(pa.scalar(system), len(keep)),
                    "customer_id": rec.ids.take(pa.array(keep)),
                    "person_id": person_ids.take(pa.array(rec.person[keep])),
                    "is_within_system_duplicate": pa.array(rec.is_dup[keep]),
                    "perturbations": text,
                }
            )
        )
    identity = pa.concat_tables(parts)

    held = (h.open_day <= e) & (h.close_day > s)
    k = len(ref.PRODUCTS)
    pairs = np.bincount(h.person[held].astype(np.int64) * k + h.product[held], minlength=n * k)
    products = (pairs.reshape(n, k) > 0).sum(axis=1)  # distinct products held in the window
    profit = (
        ledger.revenue
        - ledger.direct_cost
        - ledger.cost_to_serve
        - ledger.servicing_cost
        - ledger.marketing_cost
    )
    selected = np.bincount(camp.person, minlength=n)
    responses = np.bincount(camp.person, weights=camp.responded, minlength=n)

    def on_or_before(days: np.ndarray) -> pa.Array:
        return date_array(np.where(days <= e, days, 0), mask=days > e)

    has = {s_: np.zeros(n, dtype=bool) for s_ in records}
    for system, rec in records.items():
        has[system][rec.person[rec.created_day <= e]] = True
    cols = {
        "person_id": person_ids,
        "persona": labels(ref.PERSONAS, persons.persona),
        "propensity": pa.array(np.round(persons.propensity, 6)),
        "wealth": pa.array(np.round(persons.wealth, 6)),
        "gender": labels(("F", "M"), persons.gender),
        "is_persian_name": pa.array(persons.persian),
        "date_of_birth": date_array(persons.dob),
        "joined_on": date_array(persons.join_day),
        "churned_on": on_or_before(persons.churn_day),
        "moved_on": on_or_before(persons.move_day),
        "assisted_rate": pa.array(np.round(persons.assisted_rate, 6)),
        "digital_rate": pa.array(np.round(persons.digital_rate, 6)),
        **{f"in_{system}": pa.array(has[system]) for system in records},
        "products_held": pa.array(products),
        "revenue": _cents(ledger.revenue),
        "direct_cost": _cents(ledger.direct_cost),
        "cost_to_serve": _cents(ledger.cost_to_serve),
        "servicing_cost": _cents(ledger.servicing_cost),
        "marketing_cost": _cents(ledger.marketing_cost),
        "profit": _cents(profit),
        "assisted_contacts": pa.array(ledger.assisted_contacts.astype(np.int64)),
        "complaints": pa.array(ledger.complaints.astype(np.int64)),
        "digital_sessions": pa.array(ledger.digital_sessions.astype(np.int64)),
        "campaigns_selected": pa.array(selected),
        "campaign_responses": pa.array(responses.astype(np.int64)),
    }
    persons_table = pa.table(cols).take(pa.array(live))

    p = profit[live]
    top = np.sort(p)[::-1][: max(1, int(round(0.2 * len(p))))]
    rate = {
        c: camp.responded[camp.is_control == c].mean() if (camp.is_control == c).any() else 0.0
        for c in (False, True)
    }
    # Response of contacted and control within bands of the hidden propensity: real lift at equal propensity.
    band = np.minimum((persons.propensity[camp.person] * 5).astype(int), 4)
    by_band = {}
    for q in range(5):
        sel = band == q
        ctl, cnt = sel & camp.is_control, sel & ~camp.is_control
        if ctl.any() and cnt.any():
            by_band[f"{q / 5:.1f}-{(q + 1) / 5:.1f}"] = {
                "contacted": round(float(camp.responded[cnt].mean()), 4),
                "control": round(float(camp.responded[ctl].mean()), 4),
            }
    return Truth(
        persons=persons_table,
        identity_map=identity,
        unprofitable_share=round(float((p < 0).mean()), 4),
        top20_profit_share=round(float(top.sum() / p.sum()), 4) if p.sum() > 0 else None,
        campaign_lift=round(float(rate[False] / rate[True]), 3) if rate[True] > 0 else None,
        lift_by_propensity_band=by_band,
    )
