"""The hidden world: real persons with personas, addresses and life events, and the postcode geography.

Persons are drawn in blocks (the base existing on the start date, then one block of joiners per year)
each from its own random stream, so extending the end date adds persons and days but never changes
what earlier days looked like: the demo can be re-run with a later end to get day-by-day increments.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.demo_bank import reference as ref
from orchestration.demo_bank.common import NEVER, allocate, rng_for, uniform_days

JOIN_PER_YEAR = 0.09  # new persons per year as a share of the base
MOVES_PER_YEAR = 0.06
WITHIN_DUP_SHARE = 0.018  # persons core banking holds twice (a second customer id); most before the start
YEAR = 365
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the last part of UK postcodes
N_TYPOS = 3  # typo variants kept per name


# --- geography -----------------------------------------------------------------------------------------
@dataclass
class Geo:
    postcode: pa.Array
    city: np.ndarray  # index into reference.CITIES
    segment: np.ndarray  # index into reference.GEO_SEGMENTS
    latitude: np.ndarray
    longitude: np.ndarray

    @property
    def city_name(self) -> pa.Array:
        return pa.array([c[0] for c in ref.CITIES]).take(pa.array(self.city))

    @property
    def region(self) -> pa.Array:
        return pa.array([c[1] for c in ref.CITIES]).take(pa.array(self.city))

    @property
    def affluence(self) -> np.ndarray:
        return np.array([s[1] for s in ref.GEO_SEGMENTS])[self.segment]


def build_geo(seed: int, customers: int) -> Geo:
    rng = rng_for(seed, "geo")
    n = int(np.clip(customers // 8, 400, 40_000))
    per_city = allocate(n, np.array([c[5] for c in ref.CITIES]))
    city = np.repeat(np.arange(len(ref.CITIES)), per_city)
    # Unique codes per city: district 1..30, sector 0..9, two unit letters.
    codes = np.concatenate([rng.choice(30 * 10 * 400, size=k, replace=False) for k in per_city])
    area = pa.array([c[2] for c in ref.CITIES]).take(pa.array(city))
    letters = pa.array(list(UNIT_LETTERS))
    postcode = pc.binary_join_element_wise(
        area,
        pa.array(codes // 4000 + 1).cast(pa.string()),
        " ",
        pa.array((codes // 400) % 10).cast(pa.string()),
        letters.take(pa.array((codes // 20) % 20)),
        letters.take(pa.array(codes % 20)),
        "",
    )
    lat = np.array([c[3] for c in ref.CITIES])[city] + rng.normal(0, 0.03, n)
    lon = np.array([c[4] for c in ref.CITIES])[city] + rng.normal(0, 0.05, n)
    segment = rng.choice(len(ref.GEO_SEGMENTS), size=n)
    return Geo(postcode, city, segment, np.round(lat, 5), np.round(lon, 5))


# --- names ---------------------------------------------------------------------------------------------
@dataclass
class NameTable:
    text: pa.Array  # the name as written
    roman: list[str]  # lower-case ASCII form for email addresses
    persian: np.ndarray
    gender: np.ndarray  # 0 female, 1 male, -1 family names
    nickname: pa.Array  # the usual short form, or the name itself
    typos: pa.Array  # N_TYPOS typo variants per name, flattened (one edit; a few short names: a doubled letter)
    weight: np.ndarray  # how often persons bear the name, relative to the others of its kind


def _ascii(s: str) -> str:
    folded = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


_PERSIAN_SIMILAR = "بپتثسشزژرکگلمنوهیاد"
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def _one_edit(s: str, persian: bool, where: float, op: int, which: float) -> str:
    """One typo: substitute, delete, transpose or double a letter (never the first letter). `where` and
    `which` in [0, 1) pick the letter and the substitute, `op` in 0..3 the kind of edit."""
    letters = [i for i, ch in enumerate(s) if ch.isalpha()][1:]
    if not letters:
        return s + s[-1]
    i = letters[int(where * len(letters))]
    if op == 0:
        pool = _PERSIAN_SIMILAR if persian else _KEYBOARD
        ch = pool[int(which * len(pool))]
        return s[:i] + (ch if s[i].islower() or persian else ch.upper()) + s[i + 1 :]
    if op == 1 and len(s) > 3:
        return s[:i] + s[i + 1 :]
    if op == 2 and i + 1 < len(s) and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + s[i] + s[i:]


def _name_table(seed: int, entries: list[tuple[str, str, bool, int, str, float]]) -> NameTable:
    rng = rng_for(seed, "typos")
    # Random draws for a few tries per name, made at once: drawing per edit took 3 s for the census names.
    tries = rng.random((len(entries), 2 * N_TYPOS, 3)).tolist()
    typos = []
    # A loop over the vocabulary, not over persons.
    for (text, _, persian, _, _, _), draws in zip(entries, tries, strict=True):
        variants: list[str] = []
        for where, op, which in draws:
            v = _one_edit(text, persian, where, int(op * 4), which)
            if v != text and v not in variants:
                variants.append(v)
                if len(variants) == N_TYPOS:
                    break
        extra = text
        while len(variants) < N_TYPOS:  # tries that kept repeating (a short name): double the last letter
            extra += text[-1]
            if extra not in variants:
                variants.append(extra)
        typos.extend(variants)
    return NameTable(
        text=pa.array([e[0] for e in entries]),
        roman=[e[1] for e in entries],
        persian=np.array([e[2] for e in entries]),
        gender=np.array([e[3] for e in entries]),
        nickname=pa.array([e[4] for e in entries]),
        typos=pa.array(typos),
        weight=np.array([e[5] for e in entries]),
    )


def _zipf(n: int) -> np.ndarray:
    """Popularity by list order for the hand-written Persian lists, so common names collide like real ones."""
    return 1.0 / (np.arange(n) + 3.0)


def _latin(hand_picked: tuple[str, ...], census: dict[str, float]) -> list[tuple[str, float]]:
    """The hand-picked names (census share, else HAND_PICKED_SHARE), then the census names not among them."""
    picked = set(hand_picked)
    return [(n, census.get(n, ref.HAND_PICKED_SHARE)) for n in hand_picked] + [
        (n, w) for n, w in census.items() if n not in picked
    ]


@functools.cache  # the same tables for every demo with this seed in a process (1-2 s to build)
def build_names(seed: int) -> tuple[NameTable, NameTable]:
    first = [(n, _ascii(n), False, 0, ref.NICKNAMES.get(n, n), w)
             for n, w in _latin(ref.LATIN_FEMALE, ref.census_names("female.first"))]
    first += [(n, _ascii(n), False, 1, ref.NICKNAMES.get(n, n), w)
              for n, w in _latin(ref.LATIN_MALE, ref.census_names("male.first"))]
    for gender, names in ((0, ref.PERSIAN_FEMALE), (1, ref.PERSIAN_MALE)):
        first += [(n, r, True, gender, n, w) for (n, r), w in zip(names, _zipf(len(names)), strict=True)]
    last = [(n, _ascii(n), False, -1, n, w) for n, w in _latin(ref.LATIN_LAST, ref.census_names("all.last"))]
    last += [(n, r, True, -1, n, w) for (n, r), w in zip(ref.PERSIAN_LAST, _zipf(len(ref.PERSIAN_LAST)), strict=True)]
    return _name_table(seed, first), _name_table(seed, last)


def _pick(rng: np.random.Generator, names: NameTable, candidates: np.ndarray, size: int) -> np.ndarray:
    """`size` names among `candidates` (indices into `names`), each as often as its weight says."""
    w = names.weight[candidates]
    return candidates[rng.choice(len(candidates), size=size, p=w / w.sum())]


# --- persons -------------------------------------------------------------------------------------------
@dataclass
class Address:
    house: np.ndarray
    street: np.ndarray
    street_type: np.ndarray
    flat: np.ndarray  # 0 when not a flat
    postcode: np.ndarray  # index into Geo

    @staticmethod
    def concat(parts: list[Address]) -> Address:
        return Address(*[np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Address)])

    def where(self, mask: np.ndarray, other: Address) -> Address:
        return Address(
            *[np.where(mask, getattr(other, f.name), getattr(self, f.name)) for f in fields(Address)]
        )

    def take(self, idx: np.ndarray) -> Address:
        return Address(*[getattr(self, f.name)[idx] for f in fields(Address)])


@dataclass
class Persons:
    """One entry per real person; days are day numbers, NEVER when the event does not happen."""

    persona: np.ndarray
    block: np.ndarray  # 0 = base on the start date, k = joiners of year k
    gender: np.ndarray
    persian: np.ndarray
    first: np.ndarray
    last: np.ndarray
    dob: np.ndarray
    join_day: np.ndarray
    join_sec: np.ndarray
    churn_day: np.ndarray
    wealth: np.ndarray
    propensity: np.ndarray
    assisted_rate: np.ndarray
    digital_rate: np.ndarray
    email_sep: np.ndarray
    email_num: np.ndarray  # -1 for none
    email_domain: np.ndarray
    phone: np.ndarray  # national number without the leading 0: 7 and nine digits
    ni_digits: np.ndarray
    ni_letters: np.ndarray  # three indexes into NI_LETTERS / suffix, packed as l1*1000 + l2*10 + suffix
    card_day: np.ndarray
    digital_day: np.ndarray
    cc_day: np.ndarray
    mk_day: np.ndarray
    dup_day: np.ndarray
    move_day: np.ndarray
    address: Address  # at the start date (or when joining)
    previous: Address  # where they lived before: what a stale record holds
    moved_to: Address  # after move_day

    def __len__(self) -> int:
        return len(self.persona)


def _address(rng: np.random.Generator, geo: Geo, persona: np.ndarray) -> Address:
    n = len(persona)
    postcode = np.empty(n, dtype=np.int64)
    aff = geo.affluence
    for p in range(len(ref.PERSONAS)):  # postcodes weighted towards the persona's usual neighbourhood
        who = np.flatnonzero(persona == p)
        w = np.exp(-((aff - ref.AFFLUENCE_PREF[p]) ** 2) / (2 * 0.15**2))
        postcode[who] = rng.choice(len(w), size=len(who), p=w / w.sum())
    flat = np.where(rng.random(n) < 0.2, rng.integers(1, 41, n), 0)
    return Address(
        rng.integers(1, 241, n),
        rng.integers(0, len(ref.STREETS), n),
        rng.integers(0, len(ref.STREET_TYPES), n),
        flat,
        postcode,
    )


def _after(rng: np.random.Generator, day: np.ndarray, mean_days: float) -> np.ndarray:
    return day + np.floor(rng.exponential(mean_days, len(day))).astype(np.int64)


def _block(seed: int, block: int, n: int, start: int, geo: Geo, first: NameTable, last: NameTable) -> Persons:
    rng = rng_for(seed, "persons", block)
    persona = rng.choice(len(ref.PERSONAS), size=n, p=ref.PERSONA_SHARE)
    gender = (rng.random(n) < 0.5).astype(np.int8)
    persian = rng.random(n) < ref.PERSIAN_SHARE
    first_idx = np.empty(n, dtype=np.int64)
    for is_p in (False, True):
        for g in (0, 1):
            who = np.flatnonzero((persian == is_p) & (gender == g))
            first_idx[who] = _pick(
                rng, first, np.flatnonzero((first.persian == is_p) & (first.gender == g)), len(who)
            )
    last_idx = np.where(
        persian, _pick(rng, last, np.flatnonzero(last.persian), n), _pick(rng, last, np.flatnonzero(~last.persian), n)
    )
    # Ages outside 18..92 are reflected back inside, not clipped: clipping would pile a few per cent of
    # the base onto two birth dates (start - 18 and - 92 years), a spike the sentinel detection rightly flags.
    age = rng.normal(ref.AGE_MEAN[persona], ref.AGE_SD[persona])
    age = np.clip(np.where(age < 18, 36 - age, np.where(age > 92, 184 - age, age)), 18, 92)
    if block == 0:  # the base: customers for a while already, never since before they turned 18
        tenure = np.minimum(rng.exponential(7 * YEAR, n), (age - 18) * YEAR).astype(np.int64) + 1
        join = start - tenure
    else:
        join = start + (block - 1) * YEAR + rng.integers(0, YEAR, n)
    dob = (start if block == 0 else join) - np.floor(age * 365.25).astype(np.int64)
    join_sec = rng.integers(9 * 3600, 17 * 3600, n)
    since = np.maximum(join, start)
    churn = since + np.floor(rng.exponential(1.0, n) * YEAR / ref.CHURN_PER_YEAR[persona]).astype(np.int64)

    def spread(sd: float) -> np.ndarray:  # individual variation around the persona, mean 1
        return rng.lognormal(-sd * sd / 2, sd, n)

    wealth = spread(ref.WEALTH_SD)
    logit = ref.PROPENSITY_LOGIT[persona] + 0.02 * (45 - age) + rng.normal(0, 0.9, n)
    propensity = 1 / (1 + np.exp(-logit))
    has_cc = rng.random(n) < ref.HAS_ASSISTED[persona]
    assisted = np.where(has_cc, ref.ASSISTED_RATE[persona] * spread(0.5), 0.0)
    has_dg = rng.random(n) < ref.HAS_DIGITAL[persona]
    digital = np.where(has_dg, ref.DIGITAL_RATE[persona] * spread(0.6), 0.0)
    # Digital registration: most of the base before the start, some adopt during it; joiners soon after.
    before = rng.random(n) < 0.7
    dg_day = np.where(
        block == 0,
        np.where(
            before,
            uniform_days(rng, np.maximum(join, start - 6 * YEAR), np.full(n, start - 1)),
            _after(rng, np.full(n, start), 1.5 * YEAR),
        ),
        _after(rng, join, 45),
    )
    has_cards = rng.random(n) < ref.HOLD_PROB[persona, ref.PRODUCTS.index(ref.CARD_PRODUCT)]
    card_before = rng.random(n) < 0.85
    card_day = np.where(
        block == 0,
        np.where(
            card_before,
            uniform_days(rng, join, np.full(n, start - 1)),
            _after(rng, np.full(n, start), 2 * YEAR),
        ),
        _after(rng, join, 150),
    )
    mk_day = join + rng.integers(0, 31, n)
    has_mk = rng.random(n) < 0.97
    has_dup = rng.random(n) < WITHIN_DUP_SHARE
    dup_day = _after(rng, join + 30, 3 * YEAR)
    move_day = _after(rng, since + 30, YEAR / MOVES_PER_YEAR)
    address, previous, moved_to = (
        _address(rng, geo, persona),
        _address(rng, geo, persona),
        _address(rng, geo, persona),
    )
    ni = rng.integers(0, len(ref.NI_LETTERS), (n, 2))

    def unless(flag: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(flag & (day < churn), day, NEVER)

    return Persons(
        persona=persona.astype(np.int8),
        block=np.full(n, block, dtype=np.int16),
        gender=gender,
        persian=persian,
        first=first_idx,
        last=last_idx,
        dob=dob,
        join_day=join,
        join_sec=join_sec,
        churn_day=churn,
        wealth=wealth,
        propensity=propensity,
        assisted_rate=assisted,
        digital_rate=digital,
        email_sep=rng.integers(0, 3, n),
        email_num=np.where(rng.random(n) < 0.45, rng.integers(1, 100, n), -1),
        email_domain=rng.integers(0, len(ref.EMAIL_DOMAINS), n),
        phone=7_000_000_000 + rng.integers(0, 1_000_000_000, n),
        ni_digits=rng.integers(0, 1_000_000, n),
        ni_letters=ni[:, 0] * 1000 + ni[:, 1] * 10 + rng.integers(0, 4, n),
        card_day=unless(has_cards, card_day),
        digital_day=unless(has_dg, dg_day),
        # The contact-centre CRM went live six years before the start, taking over the customers then.
        cc_day=np.where(has_cc, np.maximum(join, start - 6 * YEAR), NEVER),
        mk_day=unless(has_mk, mk_day),
        dup_day=unless(has_dup, dup_day),
        move_day=np.where(move_day < churn, move_day, NEVER),
        address=address,
        previous=previous,
        moved_to=moved_to,
    )


def build_persons(
    seed: int, customers: int, start: int, end: int, geo: Geo, first: NameTable, last: NameTable
) -> Persons:
    """The base of `customers` persons on the start date plus yearly joiner blocks up to the end date."""
    n_join = int(round(JOIN_PER_YEAR * customers))
    blocks = [_block(seed, 0, customers, start, geo, first, last)]
    k = 1
    while start + (k - 1) * YEAR <= end and n_join:
        blocks.append(_block(seed, k, n_join, start, geo, first, last))
        k += 1
    out = {}
    for f in fields(Persons):
        parts = [getattr(b, f.name) for b in blocks]
        out[f.name] = Address.concat(parts) if isinstance(parts[0], Address) else np.concatenate(parts)
    persons = Persons(**out)
    persons.email_num = _unique_email_numbers(seed, persons, first, last)
    return persons


def _unique_email_numbers(seed: int, persons: Persons, first: NameTable, last: NameTable) -> np.ndarray:
    """Email numbers such that no two persons share an address: a mailbox belongs to one person.

    Addresses are built from the name (first, separator, last, number, domain), so namesakes would
    otherwise collide, and a shared address is the strongest evidence a record linker has that two
    records are one person. The first person holding an address keeps it; each later one draws a number
    from 100..9999 (never drawn for the first), in rounds until no address is held twice.
    """
    rng = rng_for(seed, "email numbers")
    first_id = np.unique(np.asarray(first.roman), return_inverse=True)[1][persons.first]
    last_id = np.unique(np.asarray(last.roman), return_inverse=True)[1][persons.last]
    num = persons.email_num.copy()
    while True:
        key = np.stack([num, persons.email_domain, persons.email_sep, last_id, first_id])
        order = np.lexsort(key)  # stable: among equal addresses the lowest person index comes first
        held_before = np.all(key[:, order[1:]] == key[:, order[:-1]], axis=0)
        clash = order[1:][held_before]
        if not clash.size:
            return num
        num[clash] = rng.integers(100, 10_000, clash.size)
