"""How each source system knows the persons: its own customer ids, its own columns and its own noise.

Every system holds its own record per person (core banking sometimes two), numbered in the order the
system created them. Records carry the perturbations identity resolution has to see through (typos,
nicknames, swapped or mistyped birth dates, stale addresses, missing contact details, formatting and
script variants); the truth keeps which ones each record got.
"""

from __future__ import annotations

import datetime as dt
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
    days_from_civil,
    id_array,
    labels,
    rng_for,
    sort_order,
    ts_array,
)
from orchestration.demo_bank.world import N_TYPOS, Address, Geo, NameTable, Persons
from orchestration.demo_bank.writer import Frame

CUSTOMER_SYSTEMS = ("core_banking", "cards", "contact_centre", "digital", "marketing")
ID_WIDTH = 8
SENTINEL_DOB = dt.date(1911, 11, 11)  # "born" 11/11/1911: staff typing 1 six times (DESIGN.md §1)
SENTINEL_SHARE = 0.10  # of cards records
INVALID_EMAIL_SHARE = 0.02

# Optional columns each system delivers; the rest it does not have at all (DESIGN.md §4).
COLUMNS = {
    "core_banking": (
        "first_name",
        "last_name",
        "date_of_birth",
        "gender",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "region",
        "country",
        "national_id",
    ),
    "cards": (
        "first_name",
        "last_name",
        "date_of_birth",
        "gender",
        "email",
        "phone",
        "address_line1",
        "city",
        "postcode",
        "country",
        "national_id",
    ),
    "contact_centre": ("first_name", "last_name", "phone", "postcode"),
    "digital": ("first_name", "last_name", "email", "phone"),  # a registration: name, email, phone
    "marketing": ("first_name", "last_name", "email", "address_line1", "address_line2", "city", "postcode"),
}


@dataclass(frozen=True)
class Noise:
    """Per-record chance of each perturbation in one system."""

    nickname: float = 0.0
    typo_first: float = 0.0
    typo_last: float = 0.0
    dob_swap: float = 0.0
    dob_digit: float = 0.0
    stale_address: float = 0.0
    missing_email: float = 0.0
    missing_phone: float = 0.0
    case: float = 0.0
    whitespace: float = 0.0
    arabic_letters: float = 0.3
    zwnj: float = 0.3
    persian_digits: float = 0.0
    postcode_format: float = 0.0
    phone_style: int = 0  # the system's usual phone format; 20% of records use another
    missing_national_id: float = 0.0


NOISE = {
    "core_banking": Noise(
        nickname=0.02,
        typo_first=0.01,
        typo_last=0.01,
        dob_swap=0.005,
        dob_digit=0.005,
        missing_email=0.15,
        missing_phone=0.05,
        case=0.02,
        whitespace=0.02,
        arabic_letters=0.2,
        zwnj=0.2,
        missing_national_id=0.02,
    ),
    "cards": Noise(
        nickname=0.06,
        typo_first=0.03,
        typo_last=0.03,
        dob_swap=0.02,
        dob_digit=0.02,
        stale_address=0.05,
        missing_email=0.10,
        missing_phone=0.10,
        case=0.05,
        whitespace=0.05,
        phone_style=1,
        missing_national_id=0.2,
    ),
    "contact_centre": Noise(
        nickname=0.20,
        typo_first=0.06,
        typo_last=0.06,
        stale_address=0.08,
        missing_phone=0.03,
        case=0.08,
        whitespace=0.08,
        arabic_letters=0.4,
        zwnj=0.4,
        persian_digits=0.3,
        postcode_format=0.15,
        phone_style=2,
    ),
    "digital": Noise(
        nickname=0.15,
        typo_first=0.04,
        typo_last=0.04,
        missing_phone=0.30,
        case=0.10,
        whitespace=0.05,
        persian_digits=0.3,
        phone_style=3,
    ),
    "marketing": Noise(
        nickname=0.08,
        typo_first=0.03,
        typo_last=0.03,
        stale_address=0.10,
        missing_email=0.05,
        case=0.05,
        whitespace=0.05,
        postcode_format=0.10,
        phone_style=4,
    ),
}
# A second core-banking record for the same person was keyed in by someone else, often from old papers.
DUPLICATE_NOISE = Noise(
    nickname=0.3,
    typo_first=0.2,
    typo_last=0.2,
    dob_swap=0.1,
    dob_digit=0.1,
    stale_address=0.4,
    missing_email=0.4,
    missing_phone=0.2,
    case=0.1,
    whitespace=0.1,
    arabic_letters=0.4,
    zwnj=0.4,
    missing_national_id=0.3,
)
# When a person moves: the chance the system re-delivers the record with the new address, and the mean
# delay in days (the others keep the old address: stale records for the warehouse to fix).
ADDRESS_UPDATE = {
    "core_banking": (0.95, 5),
    "cards": (0.8, 20),
    "contact_centre": (0.5, 40),
    "marketing": (0.6, 60),
}


@dataclass
class Records:
    """One system's customer records (not yet the rows of its files: a record may be delivered twice)."""

    system: str
    person: np.ndarray
    created_day: np.ndarray
    created_sec: np.ndarray
    is_dup: np.ndarray
    number: np.ndarray  # 1.. in the order the system created them
    ids: pa.Array
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # perturbation -> records that got it

    def __len__(self) -> int:
        return len(self.person)


def build_records(seed: int, system: str, persons: Persons) -> Records:
    day = {
        "core_banking": persons.join_day,
        "cards": persons.card_day,
        "contact_centre": persons.cc_day,
        "digital": persons.digital_day,
        "marketing": persons.mk_day,
    }[system]
    person = np.flatnonzero(day != NEVER)
    created = day[person]
    is_dup = np.zeros(len(person), dtype=bool)
    if system == "core_banking":
        dups = np.flatnonzero(persons.dup_day != NEVER)
        person = np.concatenate([person, dups])
        created = np.concatenate([created, persons.dup_day[dups]])
        is_dup = np.concatenate([is_dup, np.ones(len(dups), dtype=bool)])
    rng = rng_for(seed, "records", system)
    sec = np.where(
        is_dup | (system != "core_banking"),
        rng.integers(8 * 3600, 20 * 3600, len(person)),
        persons.join_sec[person],
    )
    # Numbered by creation time, so ids say nothing about the person behind them.
    order = sort_order(created, sec, np.arange(len(person)))
    number = np.empty(len(person), dtype=np.int64)
    number[order] = np.arange(1, len(person) + 1)
    return Records(
        system, person, created, sec, is_dup, number, id_array(ref.ID_PREFIX[system], number, ID_WIDTH)
    )


def _mask(x: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(x, dtype=bool))


def _maybe(rng: np.random.Generator, rec: Records, p: float, p_dup: float) -> np.ndarray:
    return rng.random(len(rec)) < np.where(rec.is_dup, p_dup, p)


def _names(
    rng: np.random.Generator, rec: Records, persons: Persons, first: NameTable, last: NameTable, noise: Noise
) -> tuple[pa.Array, pa.Array]:
    dn = DUPLICATE_NOISE
    fi, li = persons.first[rec.person], persons.last[rec.person]
    fname, lname = first.text.take(pa.array(fi)), last.text.take(pa.array(li))
    has_nick = pc.not_equal(first.nickname, first.text).to_numpy(zero_copy_only=False)[fi]
    u = rng.random(len(rec))
    nick = has_nick & (u < np.where(rec.is_dup, dn.nickname, noise.nickname))
    typo_first = ~nick & (rng.random(len(rec)) < np.where(rec.is_dup, dn.typo_first, noise.typo_first))
    typo_last = _maybe(rng, rec, noise.typo_last, dn.typo_last)
    k = rng.integers(0, N_TYPOS, (len(rec), 2))
    fname = pc.if_else(_mask(nick), first.nickname.take(pa.array(fi)), fname)
    fname = pc.if_else(_mask(typo_first), first.typos.take(pa.array(fi * N_TYPOS + k[:, 0])), fname)
    lname = pc.if_else(_mask(typo_last), last.typos.take(pa.array(li * N_TYPOS + k[:, 1])), lname)
    # Case noise on Latin names: SMITH, or all lower case.
    latin = ~persons.persian[rec.person]
    case = latin & _maybe(rng, rec, noise.case, dn.case)
    upper = rng.random(len(rec)) < 0.7
    lname = pc.if_else(_mask(case & upper), pc.utf8_upper(lname), lname)
    fname = pc.if_else(_mask(case & ~upper), pc.utf8_lower(fname), fname)
    lname = pc.if_else(_mask(case & ~upper), pc.utf8_lower(lname), lname)
    space = _maybe(rng, rec, noise.whitespace, dn.whitespace)
    trailing = rng.random(len(rec)) < 0.5
    fname = pc.if_else(_mask(space & trailing), pc.binary_join_element_wise(fname, " ", ""), fname)
    lname = pc.if_else(_mask(space & ~trailing), pc.binary_join_element_wise("  ", lname, ""), lname)
    # Persian script: Arabic ye/kaf keyed on an Arabic keyboard, and the zero-width non-joiner typed as a
    # space or dropped.
    persian = persons.persian[rec.person]
    arabic = persian & _maybe(rng, rec, noise.arabic_letters, dn.arabic_letters)
    if arabic.any():
        fa, la = fname, lname
        for persian_ch, arabic_ch in ref.ARABIC_VARIANTS:
            fa, la = (
                pc.replace_substring(fa, persian_ch, arabic_ch),
                pc.replace_substring(la, persian_ch, arabic_ch),
            )
        arabic &= pc.not_equal(fa, fname).to_numpy(zero_copy_only=False) | pc.not_equal(la, lname).to_numpy(
            zero_copy_only=False
        )
        fname, lname = pc.if_else(_mask(arabic), fa, fname), pc.if_else(_mask(arabic), la, lname)
    has_zwnj = pc.match_substring(fname, ref.ZWNJ).to_numpy(zero_copy_only=False) | pc.match_substring(
        lname, ref.ZWNJ
    ).to_numpy(zero_copy_only=False)
    zwnj = has_zwnj & _maybe(rng, rec, noise.zwnj, dn.zwnj)
    as_space = rng.random(len(rec)) < 0.5
    for mask, repl in ((zwnj & as_space, " "), (zwnj & ~as_space, "")):
        fname = pc.if_else(_mask(mask), pc.replace_substring(fname, ref.ZWNJ, repl), fname)
        lname = pc.if_else(_mask(mask), pc.replace_substring(lname, ref.ZWNJ, repl), lname)
    rec.flags.update(
        nickname=nick,
        typo_first_name=typo_first,
        typo_last_name=typo_last,
        name_case=case,
        name_whitespace=space,
        arabic_letters=arabic,
        zwnj_variant=zwnj,
    )
    return fname, lname


def _dob(rng: np.random.Generator, rec: Records, persons: Persons, noise: Noise) -> np.ndarray:
    dn = DUPLICATE_NOISE
    y, m, d = civil_from_days(persons.dob[rec.person])
    swap = _maybe(rng, rec, noise.dob_swap, dn.dob_swap) & (d <= 12) & (d != m)
    m, d = np.where(swap, d, m), np.where(swap, m, d)
    digit = ~swap & _maybe(rng, rec, noise.dob_digit, dn.dob_digit) & ~((m == 2) & (d == 29))
    y = np.where(digit, y - y % 10 + (y % 10 + rng.integers(1, 10, len(rec))) % 10, y)
    rec.flags.update(dob_day_month_swapped=swap, dob_digit_error=digit)
    return days_from_civil(y, m, d)


def _email(
    rng: np.random.Generator, rec: Records, persons: Persons, first: NameTable, last: NameTable, noise: Noise
) -> tuple[pa.Array, np.ndarray]:
    """The person's email as this system holds it, and which records got an invalid one (a defect)."""
    p = rec.person
    local = pc.binary_join_element_wise(
        pa.array(first.roman).take(pa.array(persons.first[p])),
        pa.array([".", "_", ""]).take(pa.array(persons.email_sep[p])),
        pa.array(last.roman).take(pa.array(persons.last[p])),
        pc.if_else(_mask(persons.email_num[p] >= 0), pa.array(persons.email_num[p]).cast(pa.string()), ""),
        "",
    )
    email = pc.binary_join_element_wise(
        local, "@", pa.array(ref.EMAIL_DOMAINS).take(pa.array(persons.email_domain[p])), ""
    )
    case = _maybe(rng, rec, noise.case, DUPLICATE_NOISE.case)
    email = pc.if_else(_mask(case), pc.utf8_upper(email), email)
    missing = _maybe(rng, rec, noise.missing_email, DUPLICATE_NOISE.missing_email)
    invalid = ~missing & (rng.random(len(rec)) < INVALID_EMAIL_SHARE)
    kind = rng.integers(0, 4, len(rec))
    broken = pc.choose(
        pa.array(kind),
        pc.replace_substring(email, "@", ""),  # missing @
        pc.replace_substring(email, "@", "@@"),
        pc.binary_join_element_wise(local, "@", ""),  # no domain
        pc.replace_substring(email, "@", " at "),
    )
    email = pc.if_else(_mask(invalid), broken, email)
    rec.flags.update(email_case=case, missing_email=missing)
    return pc.if_else(_mask(missing), pa.scalar(None, pa.string()), email), invalid


def _persian_digits(text: pa.Array) -> pa.Array:
    for i, ch in enumerate(ref.PERSIAN_DIGITS):
        text = pc.replace_substring(text, str(i), ch)
    return text


def _phone(rng: np.random.Generator, rec: Records, persons: Persons, noise: Noise) -> pa.Array:
    s = pa.array(persons.phone[rec.person]).cast(pa.string())

    def part(a: int, b: int) -> pa.Array:
        return pc.utf8_slice_codeunits(s, a, b)

    styles = (
        pc.binary_join_element_wise("0", part(0, 4), " ", part(4, 10), ""),
        pc.binary_join_element_wise("+44 ", part(0, 4), " ", part(4, 10), ""),
        pc.binary_join_element_wise("0", s, ""),
        pc.binary_join_element_wise("+44", s, ""),
        pc.binary_join_element_wise("0", part(0, 4), "-", part(4, 7), "-", part(7, 10), ""),
    )
    other = rng.random(len(rec)) < 0.2
    style = np.where(other, rng.integers(0, len(styles), len(rec)), noise.phone_style)
    phone = pc.choose(pa.array(style), *styles)
    fa = persons.persian[rec.person] & (rng.random(len(rec)) < noise.persian_digits)
    if fa.any():
        idx = np.flatnonzero(fa)
        phone = pc.replace_with_mask(phone, _mask(fa), _persian_digits(phone.take(pa.array(idx))))
    missing = _maybe(rng, rec, noise.missing_phone, DUPLICATE_NOISE.missing_phone)
    rec.flags.update(phone_format=style != noise.phone_style, persian_digits=fa, missing_phone=missing)
    return pc.if_else(_mask(missing), pa.scalar(None, pa.string()), phone)


def _national_id(rng: np.random.Generator, rec: Records, persons: Persons, noise: Noise) -> pa.Array:
    p = rec.person
    letters = pa.array(list(ref.NI_LETTERS))
    code = persons.ni_letters[p]
    l1, l2 = letters.take(pa.array(code // 1000)), letters.take(pa.array((code // 10) % 100))
    suffix = pa.array(list("ABCD")).take(pa.array(code % 10))
    digits = pc.utf8_lpad(pa.array(persons.ni_digits[p]).cast(pa.string()), 6, "0")
    if rec.system == "cards":  # cards keys it in groups: AB 12 34 56 C
        d = [pc.utf8_slice_codeunits(digits, i, i + 2) for i in (0, 2, 4)]
        nid = pc.binary_join_element_wise(pc.binary_join_element_wise(l1, l2, ""), *d, suffix, " ")
    else:
        nid = pc.binary_join_element_wise(l1, l2, digits, suffix, "")
    missing = _maybe(rng, rec, noise.missing_national_id, DUPLICATE_NOISE.missing_national_id)
    rec.flags.update(missing_national_id=missing)
    return pc.if_else(_mask(missing), pa.scalar(None, pa.string()), nid)


def _address_columns(
    system: str, addr: Address, geo: Geo, postcode_noise: np.ndarray, lower: np.ndarray
) -> dict[str, pa.Array]:
    """Address text of rows; `postcode_noise` rows get a lower-case (`lower`) or space-less postcode."""
    line1 = pc.binary_join_element_wise(
        pa.array(addr.house).cast(pa.string()),
        pa.array(ref.STREETS).take(pa.array(addr.street)),
        pa.array(ref.STREET_TYPES).take(pa.array(addr.street_type)),
        " ",
    )
    is_flat = addr.flat > 0
    flat = pc.binary_join_element_wise("Flat", pa.array(addr.flat).cast(pa.string()), " ")
    if system == "cards":  # one address line: "Flat 3, 12 Oak Road" (a quoted CSV field)
        line1 = pc.if_else(_mask(is_flat), pc.binary_join_element_wise(flat, line1, ", "), line1)
    postcode = geo.postcode.take(pa.array(addr.postcode))
    postcode = pc.if_else(_mask(postcode_noise & lower), pc.utf8_lower(postcode), postcode)
    postcode = pc.if_else(_mask(postcode_noise & ~lower), pc.replace_substring(postcode, " ", ""), postcode)
    idx = pa.array(addr.postcode)
    return {
        "address_line1": line1,
        "address_line2": pc.if_else(_mask(is_flat), flat, pa.scalar(None, pa.string())),
        "city": geo.city_name.take(idx),
        "postcode": postcode,
        "region": geo.region.take(idx),
        "country": labels((ref.COUNTRY,), np.zeros(len(is_flat), dtype=np.int64)),
    }


@dataclass
class CustomerRows:
    frame: Frame  # the rows as delivered up to the end date
    record: np.ndarray  # record behind each row
    sentinel: np.ndarray  # records whose birth date is the 1911-11-11 sentinel
    invalid_email: np.ndarray  # records holding an invalid email


def customer_rows(
    seed: int,
    rec: Records,
    persons: Persons,
    geo: Geo,
    first: NameTable,
    last: NameTable,
    start: int,
    end: int,
) -> CustomerRows:
    """All deliveries of the system's customer records: the first on the start date (records existing
    then) or the day created, and a full re-delivery with a new updated_at when a move reaches it."""
    system, noise = rec.system, NOISE[rec.system]
    rng = rng_for(seed, "customer_noise", system)
    cols = set(COLUMNS[system])
    per_record: dict[str, pa.Array] = {"customer_id": rec.ids}
    per_record["first_name"], per_record["last_name"] = _names(rng, rec, persons, first, last, noise)
    sentinel = np.zeros(len(rec), dtype=bool)
    invalid = np.zeros(len(rec), dtype=bool)
    if "date_of_birth" in cols:
        dob = _dob(rng, rec, persons, noise)
        if system == "cards":
            sentinel = rng.random(len(rec)) < SENTINEL_SHARE
            dob = np.where(sentinel, day_number(SENTINEL_DOB), dob)
        per_record["date_of_birth"] = date_array(dob)
    if "gender" in cols:
        per_record["gender"] = labels(("F", "M"), persons.gender[rec.person])
    if "email" in cols:
        per_record["email"], invalid = _email(rng, rec, persons, first, last, noise)
    if "phone" in cols:
        per_record["phone"] = _phone(rng, rec, persons, noise)
    if "national_id" in cols:
        per_record["national_id"] = _national_id(rng, rec, persons, noise)

    # Rows: the first delivery, then an address update after a move (for systems that hold addresses).
    p = rec.person
    first_day = np.maximum(rec.created_day, start)
    stale = _maybe(rng, rec, noise.stale_address, DUPLICATE_NOISE.stale_address)
    moved_before = persons.move_day[p] <= rec.created_day
    addr0 = (
        persons.address.take(p)
        .where(stale, persons.previous.take(p))
        .where(moved_before, persons.moved_to.take(p))
    )
    has_address = "postcode" in cols
    if has_address:
        rec.flags.update(stale_address=stale & ~moved_before)
    update_prob, lag = ADDRESS_UPDATE.get(system, (0.0, 1))
    upd_day = persons.move_day[p] + np.floor(rng.exponential(lag, len(rec))).astype(np.int64)
    upd_sec = rng.integers(8 * 3600, 20 * 3600, len(rec))
    updated = (
        has_address
        & ~moved_before
        & (persons.move_day[p] != NEVER)
        & (upd_day > first_day)
        & (rng.random(len(rec)) < update_prob)
    )
    u = np.flatnonzero(updated)
    row_rec = np.concatenate([np.arange(len(rec)), u])
    version = np.concatenate([np.zeros(len(rec), dtype=np.int8), np.ones(len(u), dtype=np.int8)])
    day = np.concatenate([first_day, upd_day[u]])
    order = sort_order(day, rec.number[row_rec], version)
    order = order[day[order] <= end]
    row_rec, version, day = row_rec[order], version[order], day[order]
    take = pa.array(row_rec)
    columns = {k: v.take(take) for k, v in per_record.items()}
    if has_address:
        addr = addr0.take(row_rec).where(version == 1, persons.moved_to.take(p[row_rec]))
        pnoise = rng.random(len(rec)) < noise.postcode_format
        lower = rng.random(len(rec)) < 0.5
        rec.flags.update(postcode_format=pnoise)
        addr_cols = _address_columns(system, addr, geo, pnoise[row_rec], lower[row_rec])
        columns.update({k: v for k, v in addr_cols.items() if k in cols})
    created = ts_array(rec.created_day[row_rec], rec.created_sec[row_rec])
    columns["created_at"] = created
    columns["updated_at"] = pc.if_else(
        _mask(version == 1), ts_array(upd_day[row_rec], upd_sec[row_rec]), created
    )
    frame = Frame(system, "customers", day, columns)
    return CustomerRows(frame, row_rec, sentinel, invalid)
