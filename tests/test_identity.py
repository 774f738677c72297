"""Identity resolution on tiny hand-made frames: normalisation, clustering, survivorship, accuracy and
stable keys across two refreshes."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from models_ml.identity import linkage
from models_ml.identity.clusters import split_conflicts
from models_ml.identity.evaluate import pairwise_accuracy
from models_ml.identity.linkage import LinkageModel, settings_creator
from models_ml.identity.nicknames import name_forms, with_name_forms
from models_ml.identity.normalise import normalised_records_sql
from models_ml.identity.resolve import IdentityConfig, create_registry, resolve
from models_ml.identity.survivorship import golden_records_sql, validate_rules

CONTRACT = ("first_name", "last_name", "date_of_birth", "gender", "email", "phone", "address_line1",
            "address_line2", "city", "postcode", "region", "country", "national_id")


def _frame(rows: list[dict]) -> pa.Table:
    columns = {"source_system": [], "customer_id": [], **{c: [] for c in CONTRACT}}
    for row in rows:
        for c in columns:
            columns[c].append(row.get(c))
    types = {c: pa.date32() if c == "date_of_birth" else pa.string() for c in columns}
    return pa.table({c: pa.array(v, types[c]) for c, v in columns.items()})


def _normalise(rows: list[dict]) -> list[dict]:
    con = duckdb.connect()
    con.register("records", _frame(rows))
    return con.sql(normalised_records_sql("records") + " order by unique_id").to_arrow_table().to_pylist()


def test_normalisation_folds_script_digits_case_and_punctuation():
    zwnj = "\u200c"
    rows = _normalise([
        {"source_system": "a", "customer_id": "1", "first_name": "  علي" + zwnj + "رضا ", "last_name": "كريمي",
         "phone": "۰۷۷۰۰ ۹۰۰۱۲۳", "postcode": "sw1a 1aa", "email": " Ali.Karimi@Example.COM ",
         "date_of_birth": dt.date(1980, 3, 7), "address_line1": "12 Oak Road", "address_line2": "Flat 3",
         "national_id": "ab 12 34 56 c"},
        {"source_system": "b", "customer_id": "2", "first_name": "علیرضا", "last_name": "کریمی",
         "phone": "+44 7700 900123", "postcode": "SW1A1AA", "email": "ali karimi@example",
         "date_of_birth": dt.date(1980, 7, 7), "address_line1": "Flat 3, 12 oak road", "national_id": "AB123456C"},
        {"source_system": "c", "customer_id": "3", "first_name": "José", "last_name": "O'Brien-Smith"},
        {"source_system": "c", "customer_id": "4"},
    ])
    a, b, c, d = rows
    assert a["first_name_n"] == b["first_name_n"] == "علیرضا"
    assert a["last_name_n"] == b["last_name_n"] == "کریمی"
    assert a["phone_n"] == b["phone_n"] == "7700900123"
    assert a["postcode_n"] == b["postcode_n"] == "SW1A1AA"
    assert a["postcode_district"] == "SW1A"
    assert a["national_id_n"] == b["national_id_n"] == "AB123456C"
    assert a["address_n"] == b["address_n"] == "12 3 flat oak road"
    assert a["email_n"] == "ali.karimi@example.com" and a["email_local"] == "alikarimi"
    assert b["email_n"] is None  # a space and no dot in the domain: not an email
    assert (a["dob"], a["dob_swapped"]) == ("1980-03-07", "1980-07-03")
    assert b["dob_swapped"] is None  # day = month: swapping changes nothing
    assert (c["first_name_n"], c["last_name_n"]) == ("jose", "obriensmith")
    assert a["unique_id"] == "a|1" and a["has_match_data"] and not d["has_match_data"]


def test_split_conflicts_cuts_the_weak_bridge_between_two_people():
    # 0-1 and 2-3 are strong pairs; 1-2 is a weaker link that chains them; 0-3 contradict each other.
    left, right = np.array([0, 2, 1, 0]), np.array([1, 3, 2, 3])
    probability = np.array([0.99999, 0.99999, 0.95, 0.0])
    conflict = np.array([False, False, False, True])
    labels, kept = split_conflicts(4, left, right, probability, conflict, threshold=0.9)
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]
    assert kept.tolist() == [True, True, False, False]
    labels, _ = split_conflicts(4, left, right, probability, np.zeros(4, dtype=bool), threshold=0.9)
    assert len(set(labels.tolist())) == 1  # no contradiction: one chain, one cluster


def test_pairwise_accuracy_counts_pairs_from_cluster_sizes():
    predicted = pa.table({"record_id": ["a", "b", "c", "d", "e"], "cluster_id": [1, 1, 1, 2, 3]})
    truth = pa.table({"record_id": ["a", "b", "c", "d", "e"], "entity_id": ["x", "x", "y", "y", "z"]})
    acc = pairwise_accuracy(predicted, truth)
    assert (acc.predicted_pairs, acc.true_pairs, acc.correct_pairs) == (3, 2, 1)
    assert acc.precision == pytest.approx(1 / 3) and acc.recall == pytest.approx(0.5)
    assert acc.f1 == pytest.approx(0.4)


def _survivors(rules: dict, priority: tuple[str, ...] = ()) -> dict:
    con = duckdb.connect()
    con.execute("""create table records as select * from (values
        ('core|1', 'core', '1', 'Ann', 'Lee', date '1980-01-02', 'ann@old.com', null, '1 Oak Rd', 'LS1 1AA',
         timestamp '2020-01-01', timestamp '2024-01-01', date '2024-01-01'),
        ('web|9', 'web', '9', 'Annabel', 'Lee', null, 'ann@new.com', '0770', null, null,
         timestamp '2021-01-01', timestamp '2025-01-01', date '2025-01-01'),
        ('cc|5', 'cc', '5', 'Ann', null, date '1980-02-01', null, '0771', '9 Elm St', 'M1 2BB',
         timestamp '2022-01-01', timestamp '2023-01-01', date '2023-01-01')
    ) as t(customer_source_key, source_system, customer_id, first_name, last_name, date_of_birth, email, phone,
           address_line1, postcode, created_at, updated_at, _delivery_date)""")
    con.execute("""create table records_all as select *, null::varchar as gender, null::varchar as national_id,
        null::varchar as address_line2, null::varchar as city, null::varchar as region, null::varchar as country,
        false as has_sentinel_birth_date, false as has_invalid_email from records""")
    con.execute("create table xref as select customer_source_key, 'K' as customer_key from records")
    return con.sql(golden_records_sql("records_all", "xref", rules, priority)).to_arrow_table().to_pylist()[0]


def test_survivorship_rules_per_attribute_group():
    g = _survivors({"name": "most_complete", "email": "most_recent", "date_of_birth": "source_priority",
                    "address": "most_recent", "phone": "source_priority"}, ("cc", "core"))
    assert (g["first_name"], g["last_name"], g["name_source"]) == ("Annabel", "Lee", "web|9")
    assert (g["email"], g["email_source"]) == ("ann@new.com", "web|9")  # the empty cc email never competes
    assert g["date_of_birth"] == dt.date(1980, 2, 1)  # cc first in the priority list
    assert (g["address_line1"], g["postcode"]) == ("1 Oak Rd", "LS1 1AA")  # core updated after cc
    assert g["phone"] == "0771"
    assert (g["source_system"], g["source_customer_id"]) == ("core", "1")  # the first record created
    assert (g["record_count"], g["source_system_count"]) == (3, 3)
    g = _survivors({"address": "source_priority"}, ("cc",))
    assert g["address_line1"] == "9 Elm St"
    with pytest.raises(ValueError, match="unknown survivorship rules"):
        validate_rules({"email": "loudest"})
    with pytest.raises(ValueError, match="unknown survivorship attribute groups"):
        validate_rules({"shoe_size": "most_recent"})


FIRST = ["Olivia", "Jack", "Amelia", "Noah", "Isla", "Oscar", "Emily", "Harry", "Ava", "George", "Mia", "Leo"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright",
        "Green", "Hall", "Wood", "Clarke", "Hughes"]


def _people(n: int) -> list[dict]:
    """n distinct people; person i's fields follow from i, so tests can name who is who."""
    return [
        {"first_name": FIRST[i % len(FIRST)], "last_name": LAST[(i // len(FIRST)) % len(LAST)],
         "date_of_birth": dt.date(1950 + i % 40, 1 + i % 12, 1 + (i * 7) % 28),
         "email": f"person{i}@example.com", "phone": f"07700 9{i:05d}", "postcode": f"LS{1 + i % 20} {i % 9}AB",
         "address_line1": f"{i + 1} Oak Road", "national_id": f"AB{i:06d}C"}
        for i in range(n)
    ]


def _customers(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    table = _frame(rows)
    con.register("frame", table)
    con.execute("""create or replace table customers_in as select *, timestamp '2024-01-01' as created_at,
        timestamp '2024-01-01' as updated_at, date '2024-01-01' as _delivery_date,
        false as has_sentinel_birth_date, false as has_invalid_email from frame""")
    con.unregister("frame")


def _keys(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select customer_source_key, customer_key from identity.customer_xref").fetchall())


def _fixed_model() -> str:
    """A model with set parameters (too few records here to train one): agreeing is strong evidence,
    fuzzy agreement weak, disagreeing strong evidence against."""
    settings = settings_creator().create_settings_dict("duckdb")
    settings["probability_two_random_records_match"] = 0.002
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for i, level in enumerate(levels):
            last = i == len(levels) - 1
            level["m_probability"] = 0.02 if last else (0.9 if i == 0 else 0.05)
            level["u_probability"] = 0.97 if last else (0.001 if i == 0 else 0.01)
    return json.dumps(settings)


def test_stable_keys_across_two_refreshes():
    people = _people(180)
    core = [{"source_system": "core", "customer_id": f"C{i}", **p} for i, p in enumerate(people)]
    # The web system knows the first 120 people with another id, a lower-case name and a phone only.
    web = [{"source_system": "web", "customer_id": f"W{i}", "first_name": p["first_name"].lower(),
            "last_name": p["last_name"].upper(), "email": p["email"].upper(), "phone": "+44" + p["phone"][1:]}
           for i, p in enumerate(people[:120])]
    con = duckdb.connect()
    _customers(con, core + web + [{"source_system": "core", "customer_id": "ONLY-ID"}])
    create_registry(con)
    con.execute("insert into identity.model values ('2024-01-01', 0, ?)", [_fixed_model()])
    first = resolve(con, "customers_in", IdentityConfig(), now=dt.datetime(2024, 1, 2))
    assert not first.trained and first.new_records == 301
    keys1 = _keys(con)
    for i in range(120):
        assert keys1[f"core|C{i}"] == keys1[f"web|W{i}"]
    assert len({keys1[f"core|C{i}"] for i in range(180)}) == 180
    key_of = dict(con.execute("select customer_key, md5(customer_source_key) from identity.customer_xref").fetchall())
    assert keys1["core|ONLY-ID"] == key_of[keys1["core|ONLY-ID"]]  # a singleton's key is md5 of its source key

    # Second refresh: a marketing system adds records for people 100..139 and one new person; web
    # person 5 adds a postcode (a changed record, scored again). Old records keep their keys, new
    # records join them, and the model is not trained again.
    newcomer = {**_people(181)[180], "first_name": "Wendell", "last_name": "Quigley"}  # no namesake here
    marketing = [{"source_system": "mk", "customer_id": f"M{i}", "first_name": people[i]["first_name"],
                  "last_name": people[i]["last_name"], "email": people[i]["email"],
                  "postcode": people[i]["postcode"], "address_line1": people[i]["address_line1"]}
                 for i in range(100, 140)]
    marketing.append({"source_system": "mk", "customer_id": "M-NEW", "first_name": newcomer["first_name"],
                      "last_name": newcomer["last_name"], "email": newcomer["email"]})
    web[5] = {**web[5], "postcode": people[5]["postcode"]}
    _customers(con, core + web + marketing + [{"source_system": "core", "customer_id": "ONLY-ID"}])
    second = resolve(con, "customers_in", IdentityConfig(), now=dt.datetime(2024, 1, 3))
    assert not second.trained
    assert (second.new_records, second.changed_records, second.removed_records) == (41, 1, 0)
    keys2 = _keys(con)
    assert {k: keys2[k] for k in keys1} == keys1
    for i in range(100, 140):
        assert keys2[f"mk|M{i}"] == keys1[f"core|C{i}"]
    assert keys2["mk|M-NEW"] == key_of.get(keys2["mk|M-NEW"], keys2["mk|M-NEW"])
    events = dict(con.execute(
        "select event, sum(records) from identity.key_events where run_at = '2024-01-03' group by 1").fetchall())
    assert events == {"new": 1}
    assert con.execute("select count(*) from identity.golden_customers").fetchall()[0][0] == 182


def test_scoring_in_chunks_finds_the_same_pairs(monkeypatch):
    people = _people(180)
    core = [{"source_system": "core", "customer_id": f"C{i}", **p} for i, p in enumerate(people)]
    web = [{"source_system": "web", "customer_id": f"W{i}", "first_name": p["first_name"], "last_name": p["last_name"],
            "email": p["email"], "phone": p["phone"]} for i, p in enumerate(people[:120])]
    records = pa.Table.from_pylist(_normalise(core + web))
    model = LinkageModel(_fixed_model(), "duckdb")
    whole = model.score_all(records, 0.9).sort_by([("unique_id_l", "ascending"), ("unique_id_r", "ascending")])
    monkeypatch.setattr(linkage, "CHUNK_RECORDS", 100)  # 300 records: 3 x 3 chunks
    chunked = model.score_all(records, 0.9).sort_by([("unique_id_l", "ascending"), ("unique_id_r", "ascending")])
    assert whole.num_rows >= 120  # every web record with its core record
    assert chunked.to_pylist() == whole.to_pylist()


def test_a_large_group_is_checked_on_its_blocked_pairs_only(monkeypatch):
    def person(i: int, **shared) -> dict:
        return {"source_system": "core", "customer_id": f"R{i}", "first_name": BRANCH_FIRST[i],
                "last_name": BRANCH_LAST[i], "date_of_birth": dt.date(1950 + i, 1 + i, 1 + i),
                "email": f"r{i}@example.com", "phone": f"0770090000{i}", **shared}

    # Group 1 (five records): R0-R1 share an email, R2-R3 a phone, R4 nothing. Group 2: R5, R6 share nothing.
    rows = [person(0, email="same@example.com"), person(1, email="same@example.com"),
            person(2, phone="07700911111"), person(3, phone="07700911111"), person(4), person(5), person(6)]
    records = pa.Table.from_pylist(_normalise(rows))
    groups = pa.array([1, 1, 1, 1, 1, 2, 2])
    model = LinkageModel(_fixed_model(), "duckdb")

    def pairs() -> set[tuple[str, str]]:
        within = model.score_within_groups(records, groups, records)
        return set(zip(within["unique_id_l"].to_pylist(), within["unique_id_r"].to_pylist(), strict=True))

    assert len(pairs()) == 10 + 1  # every pair of both groups
    monkeypatch.setattr(linkage, "LARGE_GROUP", 3)
    assert pairs() == {("core|R0", "core|R1"), ("core|R2", "core|R3"), ("core|R5", "core|R6")}


def test_within_group_scoring_can_leave_out_the_pairs_that_neither_link_nor_split():
    # R0-R1 one person (same everything), R2-R3 namesakes sharing an email (birth date and phone disagree),
    # R4 a stranger: in one candidate customer.
    rows = [{"source_system": "core", "customer_id": "R0", "first_name": "Aled", "last_name": "Pryce",
             "date_of_birth": dt.date(1961, 3, 4), "email": "aled@example.com", "phone": "07700900001"}]
    rows.append({**rows[0], "customer_id": "R1", "source_system": "web"})
    rows += [{"source_system": "core", "customer_id": f"R{i}", "first_name": "Hana", "last_name": "Nakamura",
              "date_of_birth": dt.date(1950 + i, 1 + i, 1 + i), "email": "hana@example.com",
              "phone": f"0770091111{i}"} for i in (2, 3)]
    rows.append({"source_system": "core", "customer_id": "R4", "first_name": "Wendell", "last_name": "Quigley",
                 "date_of_birth": dt.date(1980, 6, 7), "email": "wq@example.com", "phone": "07700922222"})
    records = pa.Table.from_pylist(_normalise(rows))
    model = LinkageModel(_fixed_model(), "duckdb")
    groups = pa.array([1] * 5)
    every = model.score_within_groups(records, groups, records).to_pylist()
    relevant = model.score_within_groups(records, groups, records, relevant=(0.9, 15.0)).to_pylist()
    assert len(every) == 10
    expected = [p for p in every if p["match_probability"] >= 0.9 or p["contradiction"] > 15.0]
    key = lambda p: (p["unique_id_l"], p["unique_id_r"])  # noqa: E731
    assert sorted(relevant, key=key) == sorted(expected, key=key)
    assert ("core|R0", "web|R1") in {key(p) for p in relevant}  # links
    assert 0 < len(relevant) < len(every)


def test_a_nickname_weighs_as_the_same_first_name_not_as_a_different_one():
    assert name_forms("jim") == ["james", "jim"]  # the nickname and the name it stands for
    assert "william" in name_forms("bill") and name_forms("zahra") == ["zahra"]
    forms = with_name_forms(pa.table({"first_name_n": pa.array(["jim", None, "jim"], pa.string())}))
    assert forms["first_name_forms"].to_pylist() == [["james", "jim"], None, ["james", "jim"]]

    # Two pairs alike in everything but the first names: Jim and James (nickname variants), Jim and Harold
    # (different). In the fixed model the variant level weighs 0.05/0.01 and a different name 0.02/0.97, so
    # the two pairs' odds differ by exactly 5 / (0.02 / 0.97).
    base = {"last_name": "Roberts", "email": "jr@example.com", "date_of_birth": dt.date(1970, 5, 6)}
    rows = [{"source_system": "core", "customer_id": "A", "first_name": "Jim", **base},
            {"source_system": "web", "customer_id": "B", "first_name": "James", **base},
            {"source_system": "mk", "customer_id": "C", "first_name": "Harold", **base}]
    records = pa.Table.from_pylist(_normalise(rows))
    scored = LinkageModel(_fixed_model(), "duckdb").score_all(records, 0.0).to_pylist()
    p = {(r["unique_id_l"], r["unique_id_r"]): r["match_probability"] for r in scored}
    odds = {k: v / (1 - v) for k, v in p.items()}
    assert odds[("core|A", "web|B")] / odds[("core|A", "mk|C")] == pytest.approx(5 / (0.02 / 0.97), rel=1e-6)


def test_a_rare_full_name_alone_makes_a_candidate_pair_and_a_common_one_does_not(monkeypatch):
    names = pa.table({"first_name_n": ["ada"] * 2 + ["john"] * 11 + [None],
                      "last_name_n": ["byron"] * 2 + ["smith"] * 11 + ["byron"]})
    assert linkage._rare_names(names).to_pylist() == ["ada byron"]  # 11 John Smiths are more than 10; no null
    # Rarity is counted over all records (the names given), not over the records at hand.
    assert linkage._rare_names(names.slice(11, 2)).to_pylist() == ["john smith"]
    assert linkage._rare_names(names.slice(0, 1)).to_pylist() == ["ada byron"]

    # A contact-centre record (phone) and a marketing one (email) share only the name.
    rows = [{"source_system": "cc", "customer_id": "A", "first_name": "Ada", "last_name": "Byron",
             "phone": "07700900001"},
            {"source_system": "mk", "customer_id": "B", "first_name": "ADA", "last_name": "Byron",
             "email": "ada@example.com"}]
    rows += [{"source_system": "mk", "customer_id": f"S{i}", "first_name": "John", "last_name": "Smith",
              "email": f"js{i}@example.com"} for i in range(11)]
    records = pa.Table.from_pylist(_normalise(rows))
    model = LinkageModel(_fixed_model(), "duckdb")

    def pairs() -> set[tuple[str, str]]:
        scored = model.score_all(records, 0.0)
        return set(zip(scored["unique_id_l"].to_pylist(), scored["unique_id_r"].to_pylist(), strict=True))

    assert pairs() == {("cc|A", "mk|B")}  # the eleven John Smiths are never compared
    monkeypatch.setattr(linkage, "RARE_FULL_NAME_RECORDS", 1)
    assert pairs() == set()


def test_a_shared_email_local_part_weighs_less_the_more_records_use_it():
    """Local parts are made from names, so a common one ('bokim' at four providers) says less than a rare
    one ('annlee' at two): the same-local-part level is adjusted by the local part's frequency, and the
    two pairs' odds differ by exactly the ratio of the frequencies, 4 / 2."""
    emails = ["ann.lee@a.com", "annlee@b.com", "bo.kim@a.com", "bokim@b.com", "bo_kim@c.com", "bokim@d.com"]
    rows = [{"source_system": "web", "customer_id": f"R{i}", "email": e} for i, e in enumerate(emails)]
    records = pa.Table.from_pylist(_normalise(rows))
    scored = LinkageModel(_fixed_model(), "duckdb").score_all(records, 0.0).to_pylist()
    odds = {(r["unique_id_l"], r["unique_id_r"]): r["match_probability"] / (1 - r["match_probability"])
            for r in scored}
    assert odds[("web|R0", "web|R1")] / odds[("web|R2", "web|R3")] == pytest.approx(4 / 2, rel=1e-6)


def test_a_model_stored_with_other_rules_is_trained_again():
    """A model keeps the comparisons and blocking rules it was built with; one stored by an earlier version
    (here: without the rare-full-name rule) would keep linking by the old ones, so it is replaced."""
    assert LinkageModel(_fixed_model()).is_current
    old = json.loads(_fixed_model())
    old["blocking_rules_to_generate_predictions"] = [
        r for r in old["blocking_rules_to_generate_predictions"] if "rare_full_name" not in r["blocking_rule"]]
    assert not LinkageModel(json.dumps(old)).is_current
    people = _people(60)
    con = duckdb.connect()
    _customers(con, [{"source_system": "core", "customer_id": f"C{i}", **p} for i, p in enumerate(people)]
               + [{"source_system": "web", "customer_id": f"W{i}", "first_name": p["first_name"],
                   "last_name": p["last_name"], "email": p["email"]} for i, p in enumerate(people[:20])])
    create_registry(con)
    con.execute("insert into identity.model values ('2024-01-01', 0, ?)", [json.dumps(old)])
    report = resolve(con, "customers_in", IdentityConfig(), now=dt.datetime(2024, 1, 2))
    assert report.trained
    (models,) = con.execute("select count(*) from identity.model").fetchall()[0]
    (latest,) = con.execute("select model_json from identity.model order by trained_at desc limit 1").fetchall()[0]
    assert models == 2 and LinkageModel(latest).is_current


# Thirty-one different people registered at their branch's address (no address of their own on file).
BRANCH_FIRST = ["Aled", "Beatriz", "Cormac", "Dervla", "Emeka", "Farida", "Gwilym", "Hana", "Idris", "Jolanta",
                "Kwame", "Lorna", "Mateo", "Niamh", "Osian", "Priya", "Quentin", "Rhiannon", "Soren", "Tamsin",
                "Ulrich", "Vesna", "Wendell", "Ximena", "Yusuf", "Zofia", "Ansel", "Bronagh", "Caspian",
                "Delyth", "Eamon"]
BRANCH_LAST = ["Pryce", "Okafor", "Lindqvist", "Moreau", "Haddad", "Kowalczyk", "Fitzgerald", "Nakamura",
               "Castellano", "Abernethy", "Mensah", "Ferreira", "Ivanova", "Gallagher", "Thorsen", "Banerjee",
               "Delacroix", "Ellsworth", "Vasquez", "Oyelaran", "Brennan", "Sandoval", "Achterberg", "Quigley",
               "Petrakis", "Rosenthal", "Llewellyn", "Marchetti", "Ndlovu", "Carmichael", "Whitlock"]


def test_people_sharing_an_address_stay_apart_and_their_duplicates_still_link():
    """A first load without duplicates trains the model: no pair passes the deterministic rules and no EM
    session finds a pair, so the prior is floored and m keeps Splink's defaults. The shared address and
    postcode are then no evidence of one person when names and birth dates disagree. The next load brings
    second records of two of them in another system; they join their persons."""
    branch = [{"source_system": "branch", "customer_id": f"B{i:02d}", "first_name": f, "last_name": last,
               "date_of_birth": dt.date(1940 + i, 1 + i % 12, 1 + (i * 5) % 28),
               "address_line1": "1 High Street", "postcode": "LS1 4AB"}
              for i, (f, last) in enumerate(zip(BRANCH_FIRST, BRANCH_LAST, strict=True))]
    core = [{"source_system": "core", "customer_id": f"C{i}", **p} for i, p in enumerate(_people(60))]
    con = duckdb.connect()
    _customers(con, branch + core)
    first = resolve(con, "customers_in", IdentityConfig(), now=dt.datetime(2024, 1, 2))
    assert first.trained and first.links == 0 and first.customers == 91
    keys = _keys(con)
    # B03 again in web, which holds no postcodes, with the name in capitals; B17 with the address in other
    # words and the postcode without its space.
    web = [
        {"source_system": "web", "customer_id": "W1", "first_name": "DERVLA", "last_name": "MOREAU",
         "date_of_birth": branch[3]["date_of_birth"], "address_line1": "1 High Street"},
        {"source_system": "web", "customer_id": "W2", "first_name": "Rhiannon", "last_name": "Ellsworth",
         "date_of_birth": branch[17]["date_of_birth"], "address_line1": "High St 1", "postcode": "LS14AB"},
    ]
    _customers(con, branch + core + web)
    second = resolve(con, "customers_in", IdentityConfig(), now=dt.datetime(2024, 1, 3))
    assert not second.trained and second.new_records == 2
    assert _keys(con) == {**keys, "web|W1": keys["branch|B03"], "web|W2": keys["branch|B17"]}
    assert second.customers == 91


def test_a_capped_duckdb_spills_to_a_folder_it_removes_when_closed(monkeypatch, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(linkage.tempfile, "tempdir", str(temp))
    total = linkage.os.sysconf("SC_PAGE_SIZE") * linkage.os.sysconf("SC_PHYS_PAGES")
    # A database file, so only the sort's working data has to spill: about 200 MB under a 96 MB cap.
    con = linkage.capped_duckdb(96e6 / total, str(tmp_path / "w.duckdb"))
    con.execute("set preserve_insertion_order = false")
    con.execute("create table sorted as select range as i, md5(cast(range as varchar)) as s "
                "from range(4000000) order by s")
    (spill,) = list(temp.iterdir())
    assert spill.name.startswith("crmw-duckdb-spill-")
    assert con.execute("select count(*) from sorted").fetchall() == [(4000000,)]
    con.close()
    assert list(temp.iterdir()) == []
