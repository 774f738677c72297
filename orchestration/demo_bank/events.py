"""What happens to the persons: product holdings, monthly revenue postings, service contacts, campaigns.

Everything is drawn per month from a stream of its own and only then cut at the end date, so a later end
date reproduces earlier days exactly. Each builder also returns the clean per-person money it generated,
which becomes the hidden truth of who is profitable.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.demo_bank import reference as ref
from orchestration.demo_bank.common import (
    NEVER,
    civil_from_days,
    date_array,
    day_number,
    id_array,
    labels,
    money_array,
    month_end,
    month_starts,
    rng_for,
    sort_order,
    to_cents,
    ts_array,
)
from orchestration.demo_bank.systems import Records
from orchestration.demo_bank.world import YEAR, Persons
from orchestration.demo_bank.writer import Frame

CC = ref.PRODUCTS.index(ref.CARD_PRODUCT)
CUR = ref.PRODUCTS.index("CUR")
INS = ref.PRODUCTS.index("INS")
SECOND_CARD = 0.10
TO_DUPLICATE_RECORD = 0.6  # holdings opened after a duplicate record exist often land on it


@dataclass
class Ledger:
    """Clean money per person in cents (before any planted defect), summed over the window. Whole cents
    add up exactly in any order, so months may be generated concurrently and the truth stays identical."""

    revenue: np.ndarray
    direct_cost: np.ndarray
    cost_to_serve: np.ndarray
    servicing_cost: np.ndarray
    marketing_cost: np.ndarray
    assisted_contacts: np.ndarray
    complaints: np.ndarray
    digital_sessions: np.ndarray

    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def zeros(cls, n: int) -> Ledger:
        return cls(*[np.zeros(n) for _ in range(8)])

    def add(self, name: str, person: np.ndarray, values: np.ndarray | float = 1.0) -> None:
        w = np.broadcast_to(np.asarray(values, dtype=float), person.shape)
        total = np.bincount(person, weights=w, minlength=len(self.revenue))
        with self._lock:
            getattr(self, name)[:] += total


# --- holdings ------------------------------------------------------------------------------------------
@dataclass
class Holdings:
    person: np.ndarray
    product: np.ndarray  # index into reference.PRODUCTS
    owner: np.ndarray  # record index in the owning system's Records (core banking or cards)
    open_day: np.ndarray
    open_sec: np.ndarray
    close_day: np.ndarray
    close_sec: np.ndarray
    balance: np.ndarray  # money units; INS holds the monthly premium, CC the card limit
    packaged: np.ndarray
    revolver: np.ndarray
    premium: np.ndarray
    stmt_day: np.ndarray
    spend_share: np.ndarray
    number: np.ndarray  # 1.. per system in opening order
    account_ids: pa.Array | None = None

    def __len__(self) -> int:
        return len(self.person)

    @property
    def is_card(self) -> np.ndarray:
        return self.product == CC

    def ids(self) -> pa.Array:
        """Account ids: CBA000000123 in core banking, CDA000000123 in cards."""
        if self.account_ids is None:
            prefix = pc.if_else(pa.array(self.is_card), "CDA", "CBA")
            digits = pc.utf8_lpad(pa.array(self.number).cast(pa.string()), 9, "0")
            self.account_ids = pc.binary_join_element_wise(prefix, digits, "")
        return self.account_ids


def build_holdings(seed: int, persons: Persons, start: int, cb: Records, cd: Records) -> Holdings:
    parts: list[dict[str, np.ndarray]] = []
    for block in range(int(persons.block.max()) + 1):
        who = np.flatnonzero(persons.block == block)
        rng = rng_for(seed, "holdings", int(block))
        persona = persons.persona[who]
        core = (
            rng.random((len(who), len(ref.CORE_PRODUCTS)))
            < ref.HOLD_PROB[persona][:, : len(ref.CORE_PRODUCTS)]
        )
        core[~core.any(axis=1), CUR] = True  # everyone banks with core banking somehow
        for j, product in enumerate(ref.PRODUCTS):  # a loop over products, vectorised over persons
            if product == ref.CARD_PRODUCT:
                first = who[persons.card_day[who] != NEVER]
                second = first[rng.random(len(first)) < SECOND_CARD]
                p = np.concatenate([first, second])
                open_day = np.concatenate(
                    [
                        persons.card_day[first],
                        persons.card_day[second] + np.floor(rng.exponential(YEAR, len(second))),
                    ]
                )
            else:
                p = who[core[:, j]]
                join = persons.join_day[p]
                lag = np.floor(rng.exponential(2.5 * YEAR, len(p))).astype(np.int64)
                open_day = join if product == "CUR" else join + lag
            open_day = open_day.astype(np.int64)
            close = np.full(len(p), NEVER, dtype=np.int64)
            if product in ref.TERM_YEARS:  # fixed terms; ones that ran off before the start were renewed
                lo, hi = ref.TERM_YEARS[product]
                term = rng.integers(lo, hi + 1, len(p)) * YEAR
                ran_off = open_day + term <= start
                renewed = start - 1 - np.floor(rng.random(len(p)) * term).astype(np.int64)
                open_day = np.where(ran_off, np.maximum(renewed, open_day), open_day)
                close = open_day + term
            hazard = ref.CLOSE_PER_YEAR[product]
            if hazard > 0:  # closed for other reasons than the customer leaving
                since = np.maximum(open_day, start)
                gone = since + np.floor(rng.exponential(YEAR / hazard, len(p))).astype(np.int64)
                close = np.minimum(close, gone)
            close = np.maximum(np.minimum(close, persons.churn_day[p]), open_day + 1)
            keep = (open_day < persons.churn_day[p]) & (close > start)
            p, open_day, close = p[keep], open_day[keep], close[keep]
            n = len(p)
            persona = persons.persona[p]
            parts.append(
                dict(
                    person=p,
                    product=np.full(n, j, dtype=np.int8),
                    open_day=open_day,
                    open_sec=np.where(
                        product == "CUR", persons.join_sec[p], rng.integers(9 * 3600, 17 * 3600, n)
                    ),
                    close_day=close,
                    close_sec=rng.integers(9 * 3600, 17 * 3600, n),
                    balance=ref.BALANCE_MEDIAN[persona, j]
                    * persons.wealth[p]
                    * rng.lognormal(0, ref.BALANCE_SD, n),
                    packaged=(product == "CUR") & (rng.random(n) < ref.PACKAGED_SHARE[persona]),
                    revolver=rng.random(n) < ref.CARD_REVOLVER[persona],
                    premium=rng.random(n) < ref.PREMIUM_CARD[persona],
                    stmt_day=rng.integers(1, 29, n),
                    spend_share=ref.CARD_SPEND_SHARE[persona] * rng.lognormal(-0.08, 0.4, n),
                    to_dup=rng.random(n) < TO_DUPLICATE_RECORD,
                )
            )
    h = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    # Owner record: the person's core-banking record (or its duplicate), or their cards record.
    dup_record = np.full(len(persons), -1)
    dup_record[cb.person[cb.is_dup]] = np.flatnonzero(cb.is_dup)
    main_record = np.full(len(persons), -1)
    main_record[cb.person[~cb.is_dup]] = np.flatnonzero(~cb.is_dup)
    card_record = np.full(len(persons), -1)
    card_record[cd.person] = np.arange(len(cd))
    p, to_dup = h["person"], h.pop("to_dup")
    on_dup = (dup_record[p] >= 0) & (h["open_day"] >= persons.dup_day[p]) & to_dup
    is_card = h["product"] == CC
    owner = np.where(is_card, card_record[p], np.where(on_dup, dup_record[p], main_record[p]))
    number = np.empty(len(p), dtype=np.int64)
    for mask in (is_card, ~is_card):  # account numbers run per system, in opening order
        idx = np.flatnonzero(mask)
        order = idx[sort_order(h["open_day"][idx], h["open_sec"][idx], idx)]
        number[order] = np.arange(1, len(order) + 1)
    return Holdings(owner=owner, number=number, **h)


def account_frames(
    h: Holdings, persons: Persons, cb: Records, cd: Records, start: int, end: int
) -> dict[str, Frame]:
    """Accounts as delivered: holdings open at the start on the start date, new ones the day they open,
    and a re-delivery with status closed the day they close."""
    frames = {}
    ids = h.ids()
    for system, rec, mask in (("core_banking", cb, ~h.is_card), ("cards", cd, h.is_card)):
        idx = np.flatnonzero(mask)
        row = np.concatenate([idx, idx])
        version = np.repeat(np.array([0, 1], dtype=np.int8), len(idx))
        day = np.concatenate([np.maximum(h.open_day[idx], start), h.close_day[idx]])
        order = sort_order(day, h.number[row], version)
        order = order[day[order] <= end]
        row, version, day = row[order], version[order], day[order]
        closed = version == 1
        take = pa.array(row)
        product = h.product[row]
        dormant = (persons.persona[h.person[row]] == ref.PERSONAS.index("dormant")) & (product == CUR)
        status = np.where(closed, 2, np.where(dormant & (h.number[row] % 2 == 0), 1, 0))
        balance = np.where(
            product == CC,
            h.balance[row] * np.where(h.revolver[row], ref.CARD_REVOLVE_SHARE, h.spend_share[row]),
            h.balance[row],
        )
        frames[system] = Frame(
            system,
            "accounts",
            day,
            {
                "account_id": ids.take(take),
                "customer_id": rec.ids.take(pa.array(h.owner[row])),
                "product_id": labels(ref.PRODUCTS, product),
                "opened_at": ts_array(h.open_day[row], h.open_sec[row]),
                "closed_at": ts_array(h.close_day[row], h.close_sec[row], mask=~closed),
                "status": labels(("open", "dormant", "closed"), status),
                # Policies carry no balance; closed holdings are settled to zero.
                "balance": money_array(
                    np.where(closed, 0, to_cents(balance)), mask=(product == INS) & ~closed
                ),
            },
        )
    return frames


# --- monthly revenue postings --------------------------------------------------------------------------
@dataclass
class Month:
    first: dt.date
    index: int  # 0 for the start month
    lo: int  # first day of the month inside the window (day number)
    hi: int  # last day of the month

    @property
    def days(self) -> int:
        return (month_end(self.first) - self.first).days + 1

    @property
    def tag(self) -> str:
        return f"{self.first:%Y%m}"


def _active(h: Holdings, m: Month, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Holdings open on some day of the month, and the share of the month they were open."""
    idx = np.flatnonzero(mask & (h.open_day <= m.hi) & (h.close_day > m.lo))
    days = np.minimum(h.close_day[idx] - 1, m.hi) - np.maximum(h.open_day[idx], m.lo) + 1
    keep = days > 0
    return idx[keep], days[keep] / m.days


def servicing(h: Holdings, m: Month, end: int, seeds: ref.Seeds, ledger: Ledger) -> None:
    """Monthly servicing cost of every holding open on a day of the month up to the end date."""
    idx, _ = _active(h, Month(m.first, m.index, m.lo, min(m.hi, end)), np.ones(len(h), dtype=bool))
    cost = to_cents([seeds.servicing_cost[p] for p in ref.PRODUCTS])[h.product[idx]]
    ledger.add("servicing_cost", h.person[idx], cost)


@dataclass
class Postings:
    """Revenue events of a month before they become a frame: kept apart so defects can be planted."""

    day: np.ndarray
    sec: np.ndarray
    holding: np.ndarray
    amount: np.ndarray  # cents
    cost: np.ndarray  # cents
    kind: np.ndarray  # index into reference.TRANSACTION_TYPES
    channel: np.ndarray  # index into reference.CHANNELS, -1 for none


class _PostingList:
    """Collects posting batches; scalars broadcast, so each kind of posting is one line to add."""

    def __init__(self) -> None:
        self._parts: list[list[np.ndarray]] = []

    def add(
        self,
        day: np.ndarray,
        sec: np.ndarray,
        holding: np.ndarray,
        amount: np.ndarray | int,
        cost: np.ndarray | int = 0,
        kind: np.ndarray | str = "fee",
        channel: np.ndarray | str | None = None,
    ) -> None:
        n = len(holding)
        kind_code = ref.TRANSACTION_TYPES.index(kind) if isinstance(kind, str) else kind
        channel_code = (
            -1 if channel is None else ref.CHANNELS.index(channel) if isinstance(channel, str) else channel
        )
        cols = (day, sec, holding, amount, cost, kind_code, channel_code)
        self._parts.append([np.broadcast_to(np.asarray(c, dtype=np.int64), (n,)) for c in cols])

    def postings(self) -> Postings:
        return Postings(*[np.concatenate([p[i] for p in self._parts]) for i in range(7)])


def bank_postings(seed: int, h: Holdings, persons: Persons, m: Month) -> Postings:
    """Core banking month-end postings: interest margin with its funding cost, commissions, fees."""
    rng = rng_for(seed, "bank_postings", m.tag)
    idx, frac = _active(h, m, ~h.is_card)
    product = h.product[idx]
    # Posted at the month-end batch, or on the day the holding closed.
    post = np.where(h.close_day[idx] <= m.hi, h.close_day[idx], m.hi)
    sec = 23 * 3600 + rng.integers(0, 3600, len(idx))
    bal = h.balance[idx]
    noise = rng.lognormal(0, 0.08, len(idx))
    income = np.array([ref.INCOME_RATE.get(p, 0.0) for p in ref.PRODUCTS])[product]
    cost_rate = np.array([ref.COST_RATE.get(p, 0.0) for p in ref.PRODUCTS])[product]
    amount = np.where(product == INS, bal * ref.INS_COMMISSION, bal * income / 12) * frac * noise
    kind = np.full(len(ref.PRODUCTS), ref.TRANSACTION_TYPES.index("interest_margin"))
    kind[INS] = ref.TRANSACTION_TYPES.index("commission")
    kind[ref.PRODUCTS.index("INV")] = ref.TRANSACTION_TYPES.index("management_fee")
    out = _PostingList()
    out.add(post, sec, idx, to_cents(amount), to_cents(bal * cost_rate / 12 * frac * noise), kind[product])
    cur = product == CUR
    pk = cur & h.packaged[idx]
    out.add(post[pk], sec[pk], idx[pk], to_cents(ref.CUR_PACKAGED_FEE * frac[pk]), kind="fee")
    # Overdraft fees fall on a day the account was open, triggered at a cash machine or a till.
    od = cur & (rng.random(len(idx)) < ref.OVERDRAFT_PROB[persons.persona[h.person[idx]]])
    first_open = np.maximum(h.open_day[idx[od]], m.lo)
    od_day = first_open + np.floor(rng.random(od.sum()) * (post[od] - first_open + 1)).astype(np.int64)
    via = np.where(rng.random(od.sum()) < 0.5, ref.CHANNELS.index("atm"), ref.CHANNELS.index("pos"))
    out.add(
        od_day,
        rng.integers(7 * 3600, 23 * 3600, od.sum()),
        idx[od],
        to_cents(ref.OVERDRAFT_FEE),
        kind="overdraft_fee",
        channel=via,
    )
    return out.postings()


def card_postings(seed: int, h: Holdings, m: Month) -> Postings:
    """Cards statement-day postings: interchange on the month's spend, interest, annual and late fees."""
    rng = rng_for(seed, "card_postings", m.tag)
    idx, _ = _active(h, m, h.is_card)
    post = day_number(m.first) + h.stmt_day[idx] - 1
    live = (post >= m.lo) & (post >= h.open_day[idx]) & (post < h.close_day[idx])
    idx, post = idx[live], post[live]
    n = len(idx)
    sec = 2 * 3600 + rng.integers(0, 3600, n)
    limit = h.balance[idx]
    spend = limit * h.spend_share[idx] * rng.lognormal(-0.05, 0.3, n)
    out = _PostingList()
    out.add(
        post,
        sec,
        idx,
        to_cents(spend * ref.INTERCHANGE),
        to_cents(spend * ref.SCHEME_FEE),
        kind="interchange",
        channel="pos",
    )
    rv = h.revolver[idx]
    revolving = limit[rv] * ref.CARD_REVOLVE_SHARE * rng.uniform(0.5, 1.5, rv.sum())
    out.add(
        post[rv],
        sec[rv],
        idx[rv],
        to_cents(revolving * ref.CARD_APR / 12),
        to_cents(revolving * ref.CARD_FUNDING_LOSS / 12),
        kind="interest",
    )
    _, open_month, _ = civil_from_days(h.open_day[idx])
    fee = h.premium[idx] & (open_month == m.first.month) & (h.open_day[idx] < day_number(m.first))
    out.add(post[fee], sec[fee], idx[fee], to_cents(ref.CARD_ANNUAL_FEE), kind="annual_fee")
    late = rv & (rng.random(n) < ref.LATE_FEE_PROB)
    out.add(post[late], sec[late], idx[late], to_cents(ref.LATE_FEE), kind="late_fee")
    return out.postings()


def transaction_frame(
    system: str, m: Month, p: Postings, h: Holdings, rec: Records
) -> tuple[Frame, np.ndarray]:
    """The month's postings in delivery order with their ids; also returns the sort order used."""
    order = sort_order(p.day, p.sec, h.number[p.holding])
    hold = p.holding[order]
    ids = id_array(f"{ref.ID_PREFIX[system]}T{m.tag}", np.arange(1, len(order) + 1), 8)
    channel = p.channel[order]
    frame = Frame(
        system,
        "transactions",
        p.day[order],
        {
            "transaction_id": ids,
            "customer_id": rec.ids.take(pa.array(h.owner[hold])),
            "occurred_at": ts_array(p.day[order], p.sec[order]),
            "amount": money_array(p.amount[order]),
            "account_id": h.ids().take(pa.array(hold)) if len(hold) else pa.array([], pa.string()),
            "product_id": labels(ref.PRODUCTS, h.product[hold]),
            "cost": money_array(p.cost[order]),
            "channel": labels(ref.CHANNELS, np.maximum(channel, 0), null=channel < 0),
            "transaction_type": labels(ref.TRANSACTION_TYPES, p.kind[order]),
        },
    )
    return frame, order


# --- service contacts ----------------------------------------------------------------------------------
def _draw_contacts(
    rng: np.random.Generator, persons: Persons, m: Month, since: np.ndarray, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Persons with contacts this month (one entry per contact) and the contact day."""
    lo = np.maximum(since, m.lo)
    hi = np.minimum(persons.churn_day - 1, m.hi)
    who = np.flatnonzero((rate > 0) & (lo <= hi))
    span = hi[who] - lo[who] + 1
    count = rng.poisson(rate[who] * span / m.days)
    person = np.repeat(who, count)
    day = lo[person] + np.floor(rng.random(len(person)) * (hi[person] - lo[person] + 1)).astype(np.int64)
    return person, day


def contact_centre_interactions(
    seed: int, persons: Persons, m: Month, rec: Records, record_of: np.ndarray, seeds: ref.Seeds
) -> tuple[Frame, np.ndarray, np.ndarray]:
    """Assisted contacts: branch visits, calls, emails, letters and complaints. Returns the frame, the
    person behind each row and each row's standard cost to serve."""
    rng = rng_for(seed, "contact_centre", m.tag)
    since = np.maximum(persons.cc_day, persons.join_day)
    person, day = _draw_contacts(rng, persons, m, since, persons.assisted_rate)
    n = len(person)
    cum = np.cumsum(ref.ASSISTED_MIX[persons.persona[person]], axis=1)
    t = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, len(ref.ASSISTED_TYPES) - 1)
    complaint = t == ref.ASSISTED_TYPES.index("complaint")
    usual = np.array(
        [ref.CHANNELS.index(ref.ASSISTED_CHANNEL.get(x, "call_centre")) for x in ref.ASSISTED_TYPES]
    )
    via_branch = rng.random(n) < ref.COMPLAINT_VIA_BRANCH
    channel = np.where(complaint & via_branch, ref.CHANNELS.index("branch"), usual[t])
    branch = channel == ref.CHANNELS.index("branch")
    sec = np.where(branch, rng.integers(9 * 3600, 17 * 3600, n), rng.integers(8 * 3600, 20 * 3600, n))
    std = np.array([seeds.standard_minutes[x] for x in ref.ASSISTED_TYPES])[t]
    duration = np.maximum(np.round(std * rng.gamma(4.0, 0.25, n), 1), 0.5)
    score = np.where(
        complaint, rng.integers(1, 3, n), np.clip(np.round(rng.normal(3.9, 0.9, n)), 1, 5)
    ).astype(np.int64)
    surveyed = rng.random(n) < 0.6
    rate = np.array([seeds.channel_cost_per_minute[c] for c in ref.CHANNELS])[channel]
    order = sort_order(day, sec, rec.number[record_of[person]])
    frame = Frame(
        "contact_centre",
        "interactions",
        day[order],
        {
            "interaction_id": id_array(f"CCI{m.tag}", np.arange(1, n + 1), 8),
            "customer_id": rec.ids.take(pa.array(record_of[person[order]])),
            "occurred_at": ts_array(day[order], sec[order]),
            "channel": labels(ref.CHANNELS, channel[order]),
            "interaction_type": labels(ref.ASSISTED_TYPES, t[order]),
            "duration_minutes": pa.array(duration[order]),
            "satisfaction_score": pa.array(score[order], mask=~surveyed[order]),
            "is_complaint": pa.array(complaint[order]),
        },
    )
    return frame, person[order], to_cents(std * rate)[order]


def digital_interactions(
    seed: int, persons: Persons, m: Month, rec: Records, record_of: np.ndarray, seeds: ref.Seeds
) -> tuple[Frame, np.ndarray, np.ndarray]:
    """Online banking and app sessions (no satisfaction or complaint columns in this system's files)."""
    rng = rng_for(seed, "digital", m.tag)
    person, day = _draw_contacts(rng, persons, m, persons.digital_day, persons.digital_rate)
    n = len(person)
    app = rng.random(n) < ref.APP_SHARE[persons.persona[person]]
    sec = rng.integers(6 * 3600, 24 * 3600, n)
    std = np.where(app, seeds.standard_minutes["app_session"], seeds.standard_minutes["online_session"])
    duration = np.maximum(np.round(std * rng.gamma(3.0, 1 / 3, n), 1), 0.1)
    rate = np.where(app, seeds.channel_cost_per_minute["mobile_app"], seeds.channel_cost_per_minute["online"])
    order = sort_order(day, sec, rec.number[record_of[person]])
    frame = Frame(
        "digital",
        "interactions",
        day[order],
        {
            "interaction_id": id_array(f"DGI{m.tag}", np.arange(1, n + 1), 8),
            "customer_id": rec.ids.take(pa.array(record_of[person[order]])),
            "occurred_at": ts_array(day[order], sec[order]),
            "channel": labels(("online", "mobile_app"), app[order]),
            "interaction_type": labels(("online_session", "app_session"), app[order]),
            "duration_minutes": pa.array(duration[order]),
        },
    )
    return frame, person[order], to_cents(std * rate)[order]


# --- campaigns -----------------------------------------------------------------------------------------
@dataclass
class Campaigns:
    campaigns: Frame
    contacts: Frame
    # One entry per selected person (not per row): for the truth and the lift check.
    person: np.ndarray
    is_control: np.ndarray
    responded: np.ndarray
    cost: np.ndarray


def campaigns(
    seed: int, persons: Persons, months: list[Month], mk: Records, start: int, end: int
) -> Campaigns:
    """Historic campaigns: each month a random twelfth of the marketable base, 10% held out as control.
    Selections are delivered on the campaign day; responses re-deliver the contact row with responded_at."""
    camp_rows: list[dict] = []
    rows: list[dict[str, np.ndarray]] = []
    for m in months:  # a loop over months, vectorised over the base
        rng = rng_for(seed, "campaign", m.tag)
        day = max(day_number(m.first) + 4, start)
        offer, _product, value = ref.OFFERS[(m.first.month - 1) % len(ref.OFFERS)]
        channel = "email" if m.first.month % 3 == 0 else "mail"
        cid = f"MKC{m.tag}"
        camp_rows.append(
            dict(
                day=day,
                campaign_id=cid,
                name=f"{m.first:%Y-%m} {offer} ({channel})",
                channel=channel,
                end=day + 41,
                cost=ref.CAMPAIGN_COST[channel],
                offer=offer,
            )
        )
        eligible = np.flatnonzero((mk.created_day <= day) & (persons.churn_day[mk.person] > day))
        k = int(round(len(eligible) * ref.CAMPAIGN_SHARE))
        chosen = np.sort(rng.choice(eligible, size=k, replace=False))
        control = np.zeros(k, dtype=bool)
        control[rng.choice(k, size=int(round(k * ref.CONTROL_SHARE)), replace=False)] = True
        prop = persons.propensity[mk.person[chosen]]
        p_resp = (
            ref.RESPONSE_BASE
            + ref.RESPONSE_ORGANIC * prop
            + np.where(control, 0, ref.RESPONSE_CONTACT * prop)
        )
        responded = rng.random(k) < p_resp
        resp_day = day + 1 + np.minimum(np.floor(rng.gamma(2.0, 5.0, k)), 40).astype(np.int64)
        rows.append(
            dict(
                campaign=np.full(k, len(camp_rows) - 1),
                record=chosen,
                day=np.full(k, day),
                control=control,
                responded=responded,
                resp_day=resp_day,
                resp_sec=rng.integers(8 * 3600, 22 * 3600, k),
                value=to_cents(value * rng.lognormal(-0.08, 0.4, k)),
                cost=np.where(control, 0, to_cents(ref.CAMPAIGN_COST[channel])),
            )
        )
    r = {k: np.concatenate([x[k] for x in rows]) for k in rows[0]}
    cdays = np.array([c["day"] for c in camp_rows])
    keep = cdays <= end
    camp_frame = Frame(
        "marketing",
        "campaigns",
        cdays[keep],
        {
            "campaign_id": pa.array([c["campaign_id"] for c in camp_rows]).filter(pa.array(keep)),
            "name": pa.array([c["name"] for c in camp_rows]).filter(pa.array(keep)),
            "channel": pa.array([c["channel"] for c in camp_rows]).filter(pa.array(keep)),
            "start_date": date_array(cdays[keep]),
            "end_date": date_array(np.array([c["end"] for c in camp_rows])[keep]),
            "cost_per_contact": money_array(to_cents([c["cost"] for c in camp_rows])[keep]),
            "offer": pa.array([c["offer"] for c in camp_rows]).filter(pa.array(keep)),
        },
    )
    # Rows: every selection on the campaign day, and again with the response when it comes.
    sel = np.arange(len(r["record"]))
    resp = np.flatnonzero(r["responded"])
    row = np.concatenate([sel, resp])
    version = np.concatenate([np.zeros(len(sel), np.int8), np.ones(len(resp), np.int8)])
    day = np.concatenate([r["day"], r["resp_day"][resp]])
    order = sort_order(day, r["campaign"][row], mk.number[r["record"][row]], version)
    order = order[day[order] <= end]
    row, version, day = row[order], version[order], day[order]
    answered = version == 1
    contacts = Frame(
        "marketing",
        "campaign_contacts",
        day,
        {
            "campaign_id": pa.array([c["campaign_id"] for c in camp_rows]).take(pa.array(r["campaign"][row])),
            "customer_id": mk.ids.take(pa.array(r["record"][row])),
            "contacted_at": ts_array(r["day"][row], np.full(len(row), 9 * 3600)),
            "is_control": pa.array(r["control"][row]),
            "responded_at": ts_array(r["resp_day"][row], r["resp_sec"][row], mask=~answered),
            "response_value": money_array(r["value"][row], mask=~answered),
        },
    )
    in_window = r["day"] <= end
    return Campaigns(
        camp_frame,
        contacts,
        mk.person[r["record"][in_window]],
        r["control"][in_window],
        (r["responded"] & (r["resp_day"] <= end))[in_window],
        r["cost"][in_window],
    )


def month_list(start: dt.date, end: dt.date) -> list[Month]:
    s = day_number(start)
    return [
        Month(f, i, max(day_number(f), s), day_number(month_end(f)))
        for i, f in enumerate(month_starts(start, end))
    ]
