"""The demo bank generator: deterministic, true to the landing contract, and its truth matches its files."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from orchestration.demo_bank import DemoSummary, generate, generate_demo
from orchestration.demo_bank import reference as ref
from orchestration.demo_bank.world import build_names
from orchestration.landing.contract import ENTITIES

START = dt.date(2024, 1, 1)
END = dt.date(2024, 6, 30)  # six months: the first month's defects and the month-4 ones
CUSTOMERS = 2_000
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _run(root: Path, seed: int = 7, end: dt.date = END) -> tuple[Path, Path, DemoSummary]:
    landing, truth = root / "landing", root / "truth"
    summary = generate_demo(landing, truth, customers=CUSTOMERS, seed=seed, start=START, end=end)
    return landing, truth, summary


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, DemoSummary]:
    return _run(tmp_path_factory.mktemp("demo"))


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _files(landing: Path, entity: str, suffix: str = "*") -> list[Path]:
    return sorted(landing.glob(f"*/{entity}/*.{suffix}"))


def _csv_rows(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig")  # the BOM file too
    return list(csv.reader(io.StringIO(text, newline="")))


def _defects(truth: Path) -> list[dict]:
    return pq.read_table(truth / "defects.parquet").to_pylist()


def test_same_seed_gives_identical_files_and_another_seed_does_not(demo, tmp_path, monkeypatch):
    landing, truth, _ = demo
    monkeypatch.setattr(generate, "WORKERS", 1)  # months one after the other: still the same bytes
    again_landing, again_truth, _ = _run(tmp_path / "again")
    assert _hashes(landing) == _hashes(again_landing)
    assert _hashes(truth) == _hashes(again_truth)
    other_landing, _, _ = _run(tmp_path / "other", seed=8)
    ours, theirs = _hashes(landing), _hashes(other_landing)
    assert sum(ours[k] != theirs.get(k) for k in ours) > 0.9 * len(ours)


def test_a_later_end_date_only_adds_days(demo, tmp_path):
    """Day-by-day increments: every file of a shorter run is reproduced byte for byte."""
    landing, _, _ = demo
    short, _, _ = _run(tmp_path / "short", end=dt.date(2024, 3, 10))
    short_files, full = _hashes(short), _hashes(landing)
    assert short_files and all(full[k] == v for k, v in short_files.items())
    assert all(k.rsplit("/", 1)[1][:10] > "2024-03-10" for k in set(full) - set(short_files))


def test_files_follow_the_landing_contract(demo):
    landing, _, summary = demo
    seen = set()
    for path in sorted(landing.rglob("*.*")):
        system, entity, name = path.relative_to(landing).parts
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.(csv|parquet)", name)
        contract = ENTITIES[entity]
        if path.suffix == ".csv":
            header = _csv_rows(path)[0]
        else:
            header = pq.read_schema(path).names
        assert set(header) <= set(contract.column_names), path
        assert set(contract.required) <= set(header), path
        seen.add((system, entity, path.suffix))
    assert {s for s, _, _ in seen} == {
        "core_banking",
        "cards",
        "contact_centre",
        "digital",
        "marketing",
        "geo",
    }
    assert ("cards", "transactions", ".parquet") in seen
    # A system may leave optional columns out entirely: digital registrations are name, email and phone.
    digital = _csv_rows(landing / "digital/customers/2024-01-01.csv")[0]
    assert digital == ["customer_id", "first_name", "last_name", "email", "phone", "created_at", "updated_at"]
    assert summary.files == len(list(landing.rglob("*.*")))


def test_csv_and_parquet_values_are_typed_as_the_contract_says(demo):
    landing, _, _ = demo
    schema = pq.read_schema(_files(landing, "transactions", "parquet")[0])
    assert str(schema.field("amount").type) == "decimal128(18, 2)"
    assert str(schema.field("occurred_at").type).startswith("timestamp")
    rows = _csv_rows(landing / "core_banking/accounts/2024-01-01.csv")
    header = rows[0]
    for row in rows[1:50]:
        rec = dict(zip(header, row, strict=True))
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", rec["opened_at"])
        assert rec["balance"] == "" or re.fullmatch(r"-?\d+\.\d{2}", rec["balance"])
    interactions = _csv_rows(landing / "contact_centre/interactions/2024-01-02.csv")
    assert {r[7] for r in interactions[1:] if len(r) == 8} <= {"true", "false"}
    assert (landing / "marketing/customers/2024-01-01.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_only_planted_lines_have_the_wrong_number_of_fields(demo):
    landing, truth, _ = demo
    malformed = {(d["file"], d["line"]) for d in _defects(truth) if d["defect_type"] == "malformed_line"}
    found = set()
    for path in sorted(landing.rglob("*.csv")):
        rows = _csv_rows(path)
        rel = path.relative_to(landing).as_posix()
        found |= {(rel, i + 1) for i, r in enumerate(rows) if len(r) != len(rows[0])}
    assert found == malformed and len(malformed) >= 3


def test_every_defect_sits_on_the_line_the_truth_says(demo):
    landing, truth, summary = demo
    defects = _defects(truth)
    assert {d["defect_type"] for d in defects} >= {
        "sentinel_birth_date",
        "invalid_email",
        "future_dated",
        "negative_amount",
        "duplicate_row",
        "malformed_line",
        "missing_required_value",
        "unparsable_required_value",
        "unparsable_optional_value",
        "utf8_bom",
    }
    cache: dict[str, list[str]] = {}
    for d in defects:
        lines = cache.setdefault(d["file"], (landing / d["file"]).read_text(encoding="utf-8").split("\n"))
        line = lines[d["line"] - 1]
        if d["defect_type"] == "duplicate_row":
            original = int(d["detail"].rsplit(" ", 1)[1])
            assert line == lines[original - 1] and original == d["line"] - 1
        elif d["defect_type"] == "malformed_line" and d["column"] is None:
            assert line == d["value"]
        elif d["column"] is not None:
            header = next(csv.reader([lines[0].lstrip("\ufeff")]))
            fields = next(csv.reader([line]))
            if d["defect_type"] == "malformed_line":  # the decimal comma split the field in two
                i = header.index(d["column"])
                assert ",".join(fields[i : i + 2]) == d["value"]
            else:
                assert fields[header.index(d["column"])] == (d["value"] or "")
        if d["defect_type"] == "future_dated":
            assert d["value"][:10] > Path(d["file"]).stem
        if d["defect_type"] == "negative_amount":
            assert float(d["value"]) < 0
        assert d["file"].endswith(".csv")  # every planted defect is in a CSV file
    assert summary.defects == {k: sum(d["defect_type"] == k for d in defects) for k in summary.defects}


def test_defect_counts_in_the_files_equal_the_truth(demo):
    landing, truth, _ = demo
    counts: dict[str, int] = {}
    for d in _defects(truth):
        counts[d["defect_type"]] = counts.get(d["defect_type"], 0) + 1
    con = duckdb.connect()
    sentinels = {
        system: con.execute(
            f"""select count(*) from read_csv('{landing}/{system}/customers/*.csv', all_varchar=true)
                where date_of_birth = '1911-11-11'"""
        ).fetchone()[0]
        for system in ("cards", "core_banking")
    }
    cards = sentinels["cards"]
    cards_rows = sum(len(_csv_rows(p)) - 1 for p in (landing / "cards/customers").glob("*.csv"))
    assert cards == counts["sentinel_birth_date"] and sentinels["core_banking"] == 0
    assert 0.06 < cards / cards_rows < 0.14
    invalid = total = 0
    for path in _files(landing, "customers", "csv"):
        rows = _csv_rows(path)
        if "email" in rows[0]:
            i = rows[0].index("email")
            emails = [r[i] for r in rows[1:] if r[i]]
            total += len(emails)
            invalid += sum(not EMAIL.match(e) for e in emails)
    assert invalid == counts["invalid_email"] and 0.01 < invalid / total < 0.03
    n_a = empty = 0
    for path in (landing / "core_banking/transactions").glob("*.csv"):
        rows = _csv_rows(path)
        n_a += sum(r[3] == "n/a" for r in rows[1:])
        empty += sum(r[1] == "" for r in rows[1:])
    assert (n_a, empty) == (counts["unparsable_required_value"], counts["missing_required_value"])
    assert 2 <= counts["malformed_line"] and 2 <= counts["duplicate_row"] and counts["utf8_bom"] == 1


def test_identity_map_covers_every_customer_record_and_every_event(demo):
    landing, truth, summary = demo
    identity = pq.read_table(truth / "identity_map.parquet").to_pylist()
    known = {(r["source_system"], r["customer_id"]) for r in identity}
    assert len(known) == len(identity)
    delivered = set()
    for path in _files(landing, "customers", "csv"):
        delivered |= {(path.parts[-3], r[0]) for r in _csv_rows(path)[1:]}
    assert delivered == known
    assert summary.records == {s: sum(r["source_system"] == s for r in identity) for s in summary.records}
    # Events only name customers their system delivered on or before the event's own delivery day (the
    # planted empty ids aside): the demo has no orphans.
    first_seen: dict[tuple[str, str], str] = {}
    for path in _files(landing, "customers", "csv"):
        for r in _csv_rows(path)[1:]:
            first_seen.setdefault((path.parts[-3], r[0]), path.stem)
    for entity in ("accounts", "transactions", "interactions", "campaign_contacts"):
        for path in _files(landing, entity):
            system, day = path.parts[-3], path.stem
            if path.suffix == ".parquet":
                ids = pq.read_table(path, columns=["customer_id"]).column(0).to_pylist()
            else:
                rows = _csv_rows(path)
                ids = [r[rows[0].index("customer_id")] for r in rows[1:] if len(r) > 1]
            assert all(first_seen[(system, c)] <= day for c in ids if c), path
    # Core banking knows everyone, so every person of the truth has at least one record.
    assert (
        len({r["person_id"] for r in identity})
        == summary.persons
        == pq.read_metadata(truth / "persons.parquet").num_rows
    )


def test_the_same_person_appears_across_systems_with_noise(demo):
    _, truth, summary = demo
    identity = pq.read_table(truth / "identity_map.parquet").to_pandas()
    per_person = identity.groupby("person_id").source_system.nunique()
    assert per_person.mean() > 3 and (per_person >= 2).mean() > 0.9
    dups = identity[identity.is_within_system_duplicate]
    assert set(dups.source_system) == {"core_banking"}
    assert 0.005 < len(dups) / summary.persons < 0.03
    perturbations = identity.perturbations.str.split("|").explode()
    for kind in (
        "nickname",
        "typo_first_name",
        "typo_last_name",
        "dob_day_month_swapped",
        "dob_digit_error",
        "stale_address",
        "missing_email",
        "missing_phone",
        "phone_format",
        "name_case",
    ):
        assert (perturbations == kind).sum() > 0, kind
    cards = identity[identity.source_system == "cards"].person_id.nunique()
    assert 0.3 < cards / summary.persons < 0.5


def test_no_two_persons_share_an_email_address(demo):
    """Addresses are built from names, so without care namesakes would share one; a real mailbox belongs to
    one person, and a shared address is the strongest evidence a record linker has."""
    landing, truth, _ = demo
    person = {
        (r["source_system"], r["customer_id"]): r["person_id"]
        for r in pq.read_table(truth / "identity_map.parquet").to_pylist()
    }
    holders: dict[str, set[str]] = {}
    for path in _files(landing, "customers", "csv"):
        rows = _csv_rows(path)
        if "email" not in rows[0]:
            continue
        at = rows[0].index("email")
        for r in rows[1:]:
            if len(r) == len(rows[0]) and EMAIL.match(r[at]):
                holders.setdefault(r[at].lower(), set()).add(person[(path.parts[-3], r[0])])
    assert len(holders) > 1_000
    assert [e for e, who in holders.items() if len(who) > 1] == []


def test_latin_names_follow_the_census_shares_behind_the_hand_picked_ones():
    last = ref.census_names("all.last")
    assert len(last) == 88_799 and last["Smith"] == 1.006 and last["Jones"] == 0.621
    assert "McDonald" in last and "Mcdonald" not in last  # MCDONALD written as names usually are
    first, surnames = build_names(7)
    latin = np.flatnonzero(~surnames.persian)
    text = surnames.text.take(latin).to_pylist()
    weight = dict(zip(text, surnames.weight[latin], strict=True))
    assert text[: len(ref.LATIN_LAST)] == list(ref.LATIN_LAST)  # the hand-picked names first
    assert len(text) == len(set(text)) == len(set(ref.LATIN_LAST) | set(last))
    assert weight["Smith"] == 1.006 and weight["Pedigo"] == last["Pedigo"]  # a census name not hand-picked
    assert weight["Müller"] == ref.HAND_PICKED_SHARE  # hand-picked, not in the census
    # Persian names keep their popularity by list order: 1/3 for the first, 1/4 for the second, ...
    persian = surnames.weight[surnames.persian]
    assert persian[0] == pytest.approx(1 / 3) and persian[1] == pytest.approx(1 / 4)
    female = first.text.take(np.flatnonzero(~first.persian & (first.gender == 0))).to_pylist()
    assert "Mary" in female and "Olivia" == female[0]
    # Three distinct typos per name, none the name itself.
    typos = surnames.typos.to_pylist()
    for i in (0, len(text) - 1):
        variants = typos[3 * i : 3 * i + 3]
        assert len(set(variants)) == 3 and text[i] not in variants


def test_namesakes_are_about_as_rare_as_in_a_real_population(demo):
    """With the 226 hand-picked Latin names alone one Latin-named person in eleven was a Smith and 2,000
    customers had at most 126 surnames; with the census shares they have over a thousand."""
    landing, _, _ = demo
    surnames = []
    for path in _files(landing, "customers", "csv"):
        if path.parts[-3] == "core_banking":
            rows = _csv_rows(path)
            at = rows[0].index("last_name")
            surnames += [r[at].strip().lower() for r in rows[1:] if len(r) == len(rows[0])]
    counts = np.unique(surnames, return_counts=True)[1]
    assert len(surnames) > 1_500
    assert counts.max() / len(surnames) < 0.03  # the commonest surname
    assert len(counts) > 1_000


def test_persian_names_and_script_variants_are_present(demo):
    landing, _, _ = demo
    text = "".join(p.read_text(encoding="utf-8-sig") for p in _files(landing, "customers", "csv"))
    assert "\u200c" in text  # zero-width non-joiner
    assert "\u064a" in text and "\u06cc" in text  # Arabic and Persian ye
    assert re.search("[۰-۹]{4}", text)  # Persian digits in phone numbers


def test_truth_has_a_whale_curve_and_campaign_lift(demo):
    _, truth, summary = demo
    persons = pq.read_table(truth / "persons.parquet").to_pandas()
    profit = persons.profit.astype(float)
    top = np.sort(profit.to_numpy())[::-1][: len(profit) // 5].sum()
    assert top > 1.0 * profit.sum() > 0  # the top fifth earns more than all the profit
    assert 0.15 < (profit < 0).mean() < 0.45
    by = persons.assign(profit=profit).groupby("persona")
    assert by.profit.mean()["branch_heavy"] < 0 < by.profit.mean()["affluent_digital"]
    # Branch-heavy customers hold about as many products as the most profitable ones.
    assert by.products_held.mean()["branch_heavy"] > by.products_held.mean()["affluent_digital"] - 0.5
    assert summary.top20_profit_share == pytest.approx(top / profit.sum(), abs=1e-3)
    assert summary.campaign_lift > 1.5


def test_campaigns_pick_a_random_twelfth_with_controls_and_contact_lifts_response(demo):
    landing, truth, _ = demo
    con = duckdb.connect()
    contacts = con.execute(f"""
        select c.campaign_id, c.customer_id, bool_or(c.is_control) is_control,
               bool_or(c.responded_at is not null) responded, any_value(p.propensity) propensity
        from read_csv('{landing}/marketing/campaign_contacts/*.csv') c
        join '{truth}/identity_map.parquet' i
          on i.source_system = 'marketing' and i.customer_id = c.customer_id
        join '{truth}/persons.parquet' p using (person_id)
        group by all""").df()
    per_campaign = contacts.groupby("campaign_id").size()
    assert per_campaign.min() > CUSTOMERS / 12 * 0.8
    assert contacts.is_control.mean() == pytest.approx(0.10, abs=0.01)
    high = contacts[contacts.propensity > contacts.propensity.median()]
    rate = high.groupby("is_control").responded.mean()
    assert rate[False] > 1.5 * rate[True]


def test_cost_to_serve_in_the_truth_uses_the_seed_rates(demo):
    landing, truth, _ = demo
    con = duckdb.connect()
    files = f"['{landing}/contact_centre/interactions/*.csv', '{landing}/digital/interactions/*.csv']"
    got = con.execute(f"""
        with i as (
            select customer_id, channel, interaction_type,
                   case when filename like '%contact_centre%' then 'contact_centre' else 'digital' end system
            from read_csv({files}, union_by_name=true, all_varchar=true, ignore_errors=true, filename=true)
        ),
        costed as (
            select p.person_id, sum(t.standard_minutes * c.cost_per_minute) cts
            from i
            join '{truth}/identity_map.parquet' m
              on m.source_system = i.system and m.customer_id = i.customer_id
            join read_csv('{SEEDS}/channels.csv') c on c.channel_id = i.channel
            join read_csv('{SEEDS}/interaction_types.csv') t on t.interaction_type = i.interaction_type
            join '{truth}/persons.parquet' p on p.person_id = m.person_id
            group by all
        )
        select sum(abs(costed.cts - p.cost_to_serve::double)) / sum(p.cost_to_serve::double)
        from costed join '{truth}/persons.parquet' p using (person_id)""").fetchone()[0]
    assert got < 0.01  # equal but for the planted duplicate and malformed rows


def test_truth_never_lands_in_the_landing_folder(demo, tmp_path):
    landing, truth, _ = demo
    assert not truth.resolve().is_relative_to(landing.resolve())
    names = {p.name for p in landing.rglob("*")}
    assert not names & {"identity_map.parquet", "persons.parquet", "defects.parquet", "manifest.json"}
    for path in sorted(landing.rglob("*.csv")):
        header = path.open(encoding="utf-8-sig").readline()
        assert "person_id" not in header and "persona" not in header
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "l", tmp_path / "l" / "truth", customers=CUSTOMERS, end=dt.date(2024, 1, 31))


def test_refuses_to_overwrite_unless_asked(tmp_path):
    end = dt.date(2024, 1, 31)
    generate_demo(tmp_path / "l", tmp_path / "t", customers=200, end=end)
    with pytest.raises(FileExistsError):
        generate_demo(tmp_path / "l", tmp_path / "t", customers=200, end=end)
    (tmp_path / "l" / "my_own_system").mkdir()
    generate_demo(tmp_path / "l", tmp_path / "t", customers=200, end=end, overwrite=True)
    assert (tmp_path / "l" / "my_own_system").exists()
