"""`crmw demo`: write the demo bank's landing files and, beside them, the hidden truth.

Same arguments give byte-identical files. A later end date with the same seed, size and start date
reproduces every earlier day's files and adds the new days: day-by-day increments for the daily refresh.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.demo_bank import defects as dfx
from orchestration.demo_bank import events as ev
from orchestration.demo_bank import reference as ref
from orchestration.demo_bank.common import day_number, keep_freed_memory, labels, rng_for
from orchestration.demo_bank.systems import CUSTOMER_SYSTEMS, Records, build_records, customer_rows
from orchestration.demo_bank.truth import Truth, build_truth
from orchestration.demo_bank.world import Geo, NameTable, Persons, build_geo, build_names, build_persons
from orchestration.demo_bank.writer import Frame, Written, write_csv, write_parquet

GENERATOR_VERSION = "1"
BOM_FILE = ("marketing", "customers")  # its first file starts with a UTF-8 byte-order mark
PARQUET = {("cards", "transactions")}  # delivered as Parquet; everything else as CSV
WORKERS = 2  # months generated at once (the design target is two cores)


@dataclass
class DemoSummary:
    persons: int = 0  # real persons known by the end date (the base plus joiners)
    records: dict[str, int] = field(default_factory=dict)  # system -> customer records (distinct ids)
    rows: dict[str, int] = field(default_factory=dict)  # "system/entity" -> rows written
    files: int = 0
    defects: dict[str, int] = field(default_factory=dict)
    unprofitable_share: float = 0.0
    top20_profit_share: float | None = None  # share of all profit earned by the most profitable fifth
    campaign_lift: float | None = None  # response rate of contacted over control
    seconds: float = 0.0


def generate_demo(
    landing_dir: Path,
    truth_dir: Path,
    customers: int = 20_000,
    seed: int = 42,
    start: dt.date = dt.date(2024, 1, 1),
    end: dt.date = dt.date(2025, 12, 31),
    progress: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> DemoSummary:
    """Write the demo bank's source-system files to `landing_dir` and the truth to `truth_dir`.

    `customers` is the size of the base on the start date; about 9% of that joins each year after it.
    Existing demo system folders in `landing_dir` are replaced only with `overwrite`.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if customers < 100:
        raise ValueError("customers must be at least 100")
    with keep_freed_memory():
        return _generate(Path(landing_dir), Path(truth_dir), customers, seed, start, end, progress, overwrite)


def _generate(
    landing_dir: Path,
    truth_dir: Path,
    customers: int,
    seed: int,
    start: dt.date,
    end: dt.date,
    progress: Callable[[str], None] | None,
    overwrite: bool,
) -> DemoSummary:
    clock = time.perf_counter()
    run = _Run(landing_dir, truth_dir, seed, day_number(start), day_number(end), progress)
    run.prepare(overwrite)
    run.say(f"world: {customers:,} customers from {start} to {end}, seed {seed}")
    geo = build_geo(seed, customers)
    first, last = build_names(seed)
    persons = build_persons(seed, customers, run.start, run.end, geo, first, last)
    run.summary.persons = int((persons.join_day <= run.end).sum())
    run.write(_geo_frame(geo, run.start))
    records = {system: build_records(seed, system, persons) for system in CUSTOMER_SYSTEMS}
    run.customers(records, persons, geo, first, last)
    holdings = ev.build_holdings(seed, persons, run.start, records["core_banking"], records["cards"])
    accounts = ev.account_frames(
        holdings, persons, records["core_banking"], records["cards"], run.start, run.end
    )
    _each(run.write, list(accounts.values()))
    ledger = ev.Ledger.zeros(len(persons))
    months = ev.month_list(start, end)
    # Month by month keeps memory flat at any size; months share nothing but the ledger (exact cents)
    # and the defect log, so two run at once and the output does not depend on which finishes first.
    record_of = {}
    for system in ("contact_centre", "digital"):
        record_of[system] = np.full(len(persons), -1)
        record_of[system][records[system].person] = np.arange(len(records[system]))
    _each(lambda m: run.month(m, persons, holdings, records, record_of, ledger), months)
    camp = ev.campaigns(seed, persons, months, records["marketing"], run.start, run.end)
    run.write(camp.campaigns)
    run.write(camp.contacts)
    ledger.add("marketing_cost", camp.person, camp.cost)
    run.finish(
        build_truth(persons, holdings, ledger, camp, records, run.start, run.end),
        {"customers": customers, "seed": seed, "start": start.isoformat(), "end": end.isoformat()},
    )
    run.summary.seconds = round(time.perf_counter() - clock, 2)
    run.say(
        f"done: {run.summary.files:,} files, {sum(run.summary.rows.values()):,} rows "
        f"in {run.summary.seconds:.1f}s"
    )
    return run.summary


def _each(task: Callable, items: list) -> None:
    """Run independent tasks WORKERS at a time (in order when WORKERS is 1); errors propagate."""
    if WORKERS == 1:
        for item in items:
            task(item)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for _ in pool.map(task, items):
            pass


def _geo_frame(geo: Geo, start: int) -> Frame:
    return Frame(
        "geo",
        "geodemographics",
        np.full(len(geo.city), start),
        {
            "postcode": geo.postcode,
            "geo_segment": labels([s[0] for s in ref.GEO_SEGMENTS], geo.segment),
            "latitude": pa.array(geo.latitude),
            "longitude": pa.array(geo.longitude),
        },
    )


class _Run:
    """State of one generation: where files go, what was written and which defects were planted."""

    def __init__(
        self,
        landing: Path,
        truth: Path,
        seed: int,
        start: int,
        end: int,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.landing, self.truth, self.seed, self.start, self.end = landing, truth, seed, start, end
        self._progress = progress
        self._lock = threading.Lock()
        self._clock = time.perf_counter()
        self.seeds = ref.load_seeds()
        self.summary = DemoSummary()
        self.log = dfx.DefectLog()

    def say(self, message: str) -> None:
        if self._progress is not None:
            self._progress(f"[{time.perf_counter() - self._clock:6.1f}s] {message}")

    def prepare(self, overwrite: bool) -> None:
        landing, truth = self.landing.resolve(), self.truth.resolve()
        if truth == landing or landing in truth.parents or truth in landing.parents:
            raise ValueError(
                "truth_dir and landing_dir must not contain one another: the loader must not see the truth"
            )
        ours = [landing / s for s in ref.SYSTEMS if (landing / s).is_dir() and any((landing / s).iterdir())]
        if ours and not overwrite:
            raise FileExistsError(f"{ours[0]} already holds files; pass overwrite=True to replace the demo")
        for d in ours:  # only the demo's own system folders; anything else in the landing folder stays
            shutil.rmtree(d)
        landing.mkdir(parents=True, exist_ok=True)
        truth.mkdir(parents=True, exist_ok=True)

    def write(self, frame: Frame, plan: dfx.Plan | None = None, bom: bool = False) -> Written:
        """Write a frame's rows up to the end date, planting the plan's defects (CSV only)."""
        kept = int(np.searchsorted(frame.day, self.end, side="right"))
        frame = frame.head(kept)
        if (frame.system, frame.entity) in PARQUET:
            if plan is not None:
                raise ValueError("defects are planted in CSV files only")
            w = write_parquet(self.landing, frame)
        else:
            plan = plan.cut(kept) if plan else dfx.Plan()
            w = write_csv(
                self.landing, frame, plan.edits, bom_days=frozenset([self.start]) if bom else frozenset()
            )
            self.log.add_plan(w, plan)
            if bom and w.files:
                self.log.add_file(
                    "utf8_bom", w.system, w.entity, w.files[0], "starts with a UTF-8 byte-order mark"
                )
        key = f"{w.system}/{w.entity}"
        with self._lock:
            self.summary.rows[key] = self.summary.rows.get(key, 0) + w.rows
            self.summary.files += len(w.files)
        return w

    def customers(
        self, records: dict[str, Records], persons: Persons, geo: Geo, first: NameTable, last: NameTable
    ) -> None:
        _each(lambda rec: self._customers(rec, persons, geo, first, last), list(records.values()))

    def _customers(self, rec: Records, persons: Persons, geo: Geo, first: NameTable, last: NameTable) -> None:
        """One system's customer files, with its record-level defects (they repeat on every delivery)."""
        system = rec.system
        rows = customer_rows(self.seed, rec, persons, geo, first, last, self.start, self.end)
        plan = None
        if system == "core_banking":
            plan = dfx.plan_core_customers(rng_for(self.seed, "defects", system), rows.frame, self.start)
        w = self.write(rows.frame, plan, bom=(system, "customers") == BOM_FILE)
        sentinel = np.flatnonzero(rows.sentinel[rows.record])
        self.log.add(w, "sentinel_birth_date", sentinel, "date_of_birth", "1911-11-11")
        bad = np.flatnonzero(rows.invalid_email[rows.record])
        if len(bad):
            self.log.add(w, "invalid_email", bad, "email", rows.frame.columns["email"].take(pa.array(bad)))
        self.summary.records[system] = int((rec.created_day <= self.end).sum())
        self.say(f"{system}/customers: {w.rows:,} rows in {len(w.files)} files")

    def month(
        self,
        m: ev.Month,
        persons: Persons,
        holdings: ev.Holdings,
        records: dict[str, Records],
        record_of: dict[str, np.ndarray],
        ledger: ev.Ledger,
    ) -> None:
        """One month of postings and contacts, and their clean money into the ledger."""
        end = self.end
        ev.servicing(holdings, m, end, self.seeds, ledger)
        for system, postings in (
            ("core_banking", ev.bank_postings(self.seed, holdings, persons, m)),
            ("cards", ev.card_postings(self.seed, holdings, m)),
        ):
            frame, order = ev.transaction_frame(system, m, postings, holdings, records[system])
            kept = int(np.searchsorted(frame.day, end, side="right"))
            person = holdings.person[postings.holding[order[:kept]]]
            ledger.add("revenue", person, postings.amount[order[:kept]])
            ledger.add("direct_cost", person, postings.cost[order[:kept]])
            plan = None
            if system == "core_banking":
                plan = dfx.plan_bank_transactions(
                    rng_for(self.seed, "defects", system, m.tag), frame, m.index
                )
            self.write(frame, plan)
        for system, build, planner in (
            ("contact_centre", ev.contact_centre_interactions, dfx.plan_contact_centre),
            ("digital", ev.digital_interactions, dfx.plan_digital),
        ):
            frame, person, cost = build(self.seed, persons, m, records[system], record_of[system], self.seeds)
            kept = int(np.searchsorted(frame.day, end, side="right"))
            person, cost = person[:kept], cost[:kept]
            ledger.add("cost_to_serve", person, cost)
            if system == "digital":
                ledger.add("digital_sessions", person)
            else:
                ledger.add("assisted_contacts", person)
                ledger.add(
                    "complaints", person, frame.columns["is_complaint"].to_numpy(zero_copy_only=False)[:kept]
                )
            self.write(frame, planner(rng_for(self.seed, "defects", system, m.tag), frame, m.index))
        with self._lock:
            so_far = sum(self.summary.rows.values())
        self.say(f"{m.first:%Y-%m} done: {so_far:,} rows so far")

    def finish(self, truth: Truth, arguments: dict) -> None:
        s = self.summary
        s.rows, s.records = dict(sorted(s.rows.items())), dict(sorted(s.records.items()))
        s.defects = self.log.counts()
        s.unprofitable_share = truth.unprofitable_share
        s.top20_profit_share = truth.top20_profit_share
        s.campaign_lift = truth.campaign_lift
        pq.write_table(self.log.table(), self.truth / "defects.parquet")
        pq.write_table(truth.persons, self.truth / "persons.parquet")
        pq.write_table(truth.identity_map, self.truth / "identity_map.parquet")
        manifest = {
            "generator_version": GENERATOR_VERSION,
            "arguments": arguments,
            "persons": s.persons,
            "records": s.records,
            "rows": s.rows,
            "files": s.files,
            "defects": s.defects,
            "profitability": {
                "unprofitable_share": s.unprofitable_share,
                "top20_profit_share": s.top20_profit_share,
            },
            "campaign_lift": s.campaign_lift,
            "response_by_propensity_band": truth.lift_by_propensity_band,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (self.truth / "manifest.json").write_text(text, encoding="utf-8")
