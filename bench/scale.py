"""Benchmark: every stage of a first refresh and a one-day incremental refresh, at one scale.

Not part of the test suite. For `--scale small|medium|large` (10k, 100k, 1M demo customers over
2024-01-01..2025-12-31) it generates the demo bank in a scratch CRMW_HOME (kept between runs and reused
when it was made with the same arguments), sets the last delivery day aside and then times, each stage in
its own process:

  floor        DuckDB reads every landing file once and aggregates it: the least work any refresh does
  load         the landing files into the raw layer (`crmw load`)
  dbt upstream seeds, staging, data-quality profiles, the ODS views identity reads
  identity     identity resolution from scratch
  dbt build    everything else (warehouse, marts, data quality, snapshot, every dbt test)
  clv, segments, publish, report   the Python models, write-audit-publish, the report pack

The first refresh is the sum of load .. report. Then the set-aside day goes back and `crmw refresh` runs
the one-day incremental refresh on top. Peers, in the same run: our BG/NBD fit against lifetimes'
BetaGeoFitter on the warehouse's own customers, the profitability deciles as a plain pandas program
against the dbt models' time, and identity records per minute against Splink's published figure of about
a million records a minute on a laptop.

Memory is the peak of the summed resident set of the stage's process tree, sampled every 0.2 s (a peak
shorter than that can be missed), and the kernel's peak of the largest single process. Results go to
bench/results/<date>-<scale>.json and .md. The machine may be shared: the load average is recorded.

    .venv/bin/python bench/scale.py --scale small [--home /tmp/crmw-bench-small] [--skip-peers]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCALES = {"small": 10_000, "medium": 100_000, "large": 1_000_000}
START, END, SEED = dt.date(2024, 1, 1), dt.date(2025, 12, 31), 42
STAGES = ("load", "dbt upstream", "identity", "dbt build", "clv", "segments", "targeting", "lookalikes", "maturity",
          "publish", "report")
SPLINK_RECORDS_PER_MINUTE = 1_000_000  # Splink's documentation: about a million records a minute on a laptop
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- measuring a process tree -------------------------------------------------------------------

def _tree_rss(root: int) -> int:
    """Summed resident bytes of `root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/statm") as f:
                resident = int(f.read().split()[1])
        except OSError:  # the process ended while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = resident * PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(cmd: list[str], env: dict[str, str], log: Path) -> dict:
    """Run `cmd`, returning wall and CPU seconds, the sampled peak of the tree's summed RSS and the largest process's
    peak RSS (bytes). Output goes to `log`; a failing command stops the benchmark with the log's tail."""
    peak = 0
    done = threading.Event()
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode}); log {log}:\n" + "\n".join(tail))
    largest = usage.ru_maxrss * 1024  # kilobytes on Linux; includes waited-for descendants
    cpu = usage.ru_utime + usage.ru_stime  # the process's and its waited-for descendants' CPU time
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_tree_bytes": max(peak, largest),
            "peak_process_bytes": largest}


# --- one stage, run in its own process (`--stage NAME`) --------------------------------------------

def run_stage(name: str, out: Path) -> None:
    """Do one stage against $CRMW_HOME and write what it did (rows, dbt timings) as JSON to `out`."""
    import duckdb

    from orchestration.assets.dbt import UPSTREAM_SELECT
    from orchestration.dbt_runner import run_dbt
    from orchestration.settings import load_settings

    settings = load_settings()
    facts: dict = {}
    if name == "floor":
        facts = floor(settings.landing_dir)
    elif name == "load":
        from orchestration.landing.loader import load_landing

        with settings.connect_warehouse() as con:
            report = load_landing(con, settings.landing_dir)
        if report.rejected:
            raise SystemExit(f"load rejected files: {report.rejected[:5]}")
        facts = {"rows": report.rows_loaded, "files": report.files_loaded, "quarantined": report.rows_quarantined}
    elif name in ("dbt upstream", "dbt build"):
        select = (["--select", UPSTREAM_SELECT] if name == "dbt upstream" else ["--exclude", UPSTREAM_SELECT])
        run_dbt(settings, ["build", *select, "--indirect-selection", "buildable"])
        facts = dbt_timings(settings.dbt_target_dir / "run_results.json")
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            facts["rows"] = int(con.execute("select coalesce(sum(estimated_size), 0) from duckdb_tables() "
                                            "where schema_name <> 'raw'").fetchall()[0][0])
    elif name == "identity":
        from orchestration.identity import run_identity

        run = run_identity(settings)
        facts = {"rows": run.report.records, "customers": run.report.customers,
                 "pairs_scored": run.report.pairs_scored, "steps": run.report.seconds}
        if run.accuracy is not None:
            facts.update(precision=run.accuracy.precision, recall=run.accuracy.recall)
    elif name == "clv":
        from orchestration.clv import run_clv

        result = run_clv(settings)
        facts = {"rows": len(result.customer_clv)}
    elif name == "segments":
        from orchestration.segments import segments_for_warehouse

        result = segments_for_warehouse(settings.warehouse_path)
        facts = {"rows": len(result.segments)}
    elif name == "targeting":
        from orchestration.targeting import run_targeting

        result = run_targeting(settings)
        facts = {"rows": 0 if result.scores is None else len(result.scores),
                 "top_decile_lift": result.metrics.get("top_decile_lift")}
    elif name == "lookalikes":
        from orchestration.targeting import run_lookalikes

        result = run_lookalikes(settings)
        facts = {"rows": 0 if result is None else len(result.customers)}
    elif name == "maturity":
        from orchestration.maturity import maturity_for_warehouse

        result = maturity_for_warehouse(settings)
        facts = {"rows": sum(len(t) for t in result.tables.values())}
    elif name == "publish":
        from orchestration.publish import publish

        report = publish(settings, run_id="bench")
        facts = {"rows": report.rows}
    elif name == "report":
        from dashboards.report import write_report

        facts = {"file": str(write_report(settings))}
    else:
        raise SystemExit(f"unknown stage {name!r}")
    out.write_text(json.dumps(facts, default=str))


def floor(landing: Path) -> dict:
    """Read every landing file once with DuckDB and aggregate it (row count and a hash over every row); no
    typing, no validation, no joins: the least work any refresh must do. CSV files are read as the loader
    reads them (header, comma, double quotes, every column text), one scan per folder and header line;
    rows the CSV reader cannot parse are skipped here (the loader quarantines them)."""
    import duckdb

    rows = 0
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    for folder in sorted(p for p in landing.glob("*/*") if p.is_dir()):
        by_header: dict[bytes, list[str]] = {}
        for path in sorted(folder.glob("*.csv")):
            with path.open("rb") as fh:
                by_header.setdefault(fh.readline().strip(), []).append(str(path))
        for header, paths in by_header.items():
            names = [n.strip().strip('"') for n in header.decode("utf-8", "replace").split(",")]
            columns = "{" + ", ".join(f"'{n.replace(chr(39), '')}': 'VARCHAR'" for n in names) + "}"
            rows += con.execute(
                f"""select count(*), bit_xor(hash(t)) from read_csv(?, header = true, auto_detect = false,
                        delim = ',', quote = '"', escape = '"', columns = {columns}, ignore_errors = true) as t""",
                [paths]).fetchall()[0][0]
        parquet = [str(p) for p in sorted(folder.glob("*.parquet"))]
        if parquet:
            rows += con.execute("select count(*), bit_xor(hash(t)) from read_parquet(?, union_by_name = true) as t",
                                [parquet]).fetchall()[0][0]
    return {"rows": rows}


def dbt_timings(run_results: Path) -> dict:
    """dbt's own execution time per layer (models/<layer>/...) and for tests, from run_results.json."""
    results = json.loads(run_results.read_text())["results"]
    layers: dict[str, float] = {}
    for node in results:
        parts = node["unique_id"].split(".")
        kind = parts[0]
        if kind == "model":
            from_path = node.get("relation_name") or ""
            layer = _model_layer(node["unique_id"], from_path)
        else:
            layer = kind + "s"
        layers[layer] = layers.get(layer, 0.0) + float(node.get("execution_time") or 0.0)
    models = {r["unique_id"].split(".")[-1]: float(r.get("execution_time") or 0.0)
              for r in results if r["unique_id"].startswith("model.")}
    return {"layers": {k: round(v, 2) for k, v in sorted(layers.items())}, "models": models}


def _model_layer(unique_id: str, relation: str) -> str:
    # relation is "database"."schema"."name"; the schema names the layer (staging, ods, warehouse, marts, ...)
    schema = relation.split(".")[1].strip('"') if relation.count(".") >= 2 else "?"
    return f"models in {schema}"


# --- peers ------------------------------------------------------------------------------------------

def bgnbd_peer(warehouse: Path) -> dict:
    """Our BG/NBD fit (median of 3) vs lifetimes' BetaGeoFitter (1 run) on the warehouse's customers' RFM."""
    import duckdb

    from models_ml.clv import BetaGeoNBD

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rfm = con.sql(
            """
            with days as (  -- purchase days as the CLV models count them: days with a positive total
                select customer_key, occurred_date as day from warehouse.fct_transactions
                group by customer_key, occurred_date having sum(amount) > 0),
                 cut as (select max(day) as c from days)
            select count(*) - 1 as frequency,
                   cast(datediff('day', min(day), max(day)) as double) as recency,
                   cast(datediff('day', min(day), any_value(c)) as double) as "T"
            from days, cut group by customer_key
            """).df()
    ours = []
    result: dict = {"customers": len(rfm), "ours_median_s": None, "lifetimes_s": None}
    try:
        for _ in range(3):
            started = time.perf_counter()
            BetaGeoNBD().fit(rfm)
            ours.append(time.perf_counter() - started)
        result["ours_median_s"] = round(statistics.median(ours), 3)
    except RuntimeError as exc:  # a failed fit is a result too
        result["ours_error"] = str(exc)
    from lifetimes import BetaGeoFitter  # dev dependency, a reference only

    # Unpenalised first, as ours; lifetimes often stops short on bank data, then a small penalty is tried
    # and the table says so (a penalised fit solves a slightly different problem).
    for penalizer in (0.0, 0.001):
        started = time.perf_counter()
        try:  # lifetimes prints the optimiser's state and autograd warns when a fit fails: keep the log readable
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                BetaGeoFitter(penalizer_coef=penalizer).fit(rfm["frequency"], rfm["recency"], rfm["T"])
        except Exception as exc:  # noqa: BLE001 - the reference's own failure is reported, not raised
            result.setdefault("lifetimes_error", f"penalizer {penalizer}: {type(exc).__name__}".strip())
            continue
        result["lifetimes_s"] = round(time.perf_counter() - started, 3)
        result["lifetimes_penalizer"] = penalizer
        break
    return result


def deciles_peer(warehouse: Path, dbt_models: dict[str, float]) -> dict:
    """The trailing-12-month profit deciles as a plain pandas program (read the monthly P&L, sum the window,
    rank with the same tie-break, cut, aggregate) against the dbt models' own time; the decile sizes and
    profits must agree with the dbt table's."""
    import duckdb
    import pandas as pd

    started = time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        months = con.sql("select customer_key, month_start, profit from warehouse.fct_customer_month").df()
        as_of = pd.Timestamp(con.execute("select max(as_of_month) from marts.customer_profitability").fetchall()[0][0])
        published = con.sql("select profit_decile, customers, profit from marts.profitability_deciles order by 1").df()
    in_window = (months["month_start"] > as_of - pd.DateOffset(months=12)) & (months["month_start"] <= as_of)
    per_customer = months[in_window].groupby("customer_key", as_index=False)["profit"].sum()
    per_customer = per_customer.sort_values(["profit", "customer_key"], ascending=[False, True], ignore_index=True)
    per_customer["decile"] = per_customer.index * 10 // len(per_customer) + 1
    deciles = per_customer.groupby("decile").agg(customers=("customer_key", "size"), profit=("profit", "sum"))
    pandas_s = time.perf_counter() - started
    dbt_s = sum(dbt_models.get(m, 0.0) for m in ("customer_profitability", "profitability_deciles"))
    profit_gap = abs(deciles["profit"].to_numpy() - published["profit"].to_numpy().astype(float)).max()
    agree = deciles["customers"].tolist() == published["customers"].tolist() and bool(profit_gap < 1e-3)
    return {"pandas_s": round(pandas_s, 3), "dbt_models_s": round(dbt_s, 3), "agree": agree}


# --- the driver -------------------------------------------------------------------------------------

def _set_aside(landing: Path, day: dt.date, aside: Path) -> int:
    moved = 0
    for path in sorted(landing.rglob(f"{day.isoformat()}.*")):
        target = aside / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved += 1
    return moved


def _put_back(aside: Path, landing: Path) -> None:
    for path in sorted(p for p in aside.rglob("*") if p.is_file()):
        target = landing / path.relative_to(aside)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)


def _reset(home: Path) -> None:
    """Everything but the landing files, the truth and the demo marker: a first refresh starts from nothing."""
    for name in ("warehouse", "serving", "dbt", "dagster", "status", "logs", "reports", "bench-aside"):
        shutil.rmtree(home / name, ignore_errors=True)


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def render(result: dict) -> str:
    lines = [
        f"# {result['scale']}: {result['customers']:,} demo customers, {START}..{END}, seed {SEED}",
        "",
        f"{result['date']}, commit {result['commit']}, {os.cpu_count()} cores; load average at the start "
        f"{result['load_average_start']}, at the end {result['load_average_end']}. One run per stage (not a median).",
        "",
        "| stage | wall s | CPU s | peak tree GB | peak process GB | rows | rows/s | × floor (wall) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    floor_s = result["stages"]["floor"]["seconds"]
    for name, stage in result["stages"].items():
        rows = stage.get("rows")
        count = f"{rows:,}" if rows else ""
        rate = f"{rows / stage['seconds']:,.0f}" if rows and stage["seconds"] else ""
        lines.append(
            f"| {name} | {stage['seconds']:.1f} | {stage['cpu_seconds']:.1f} | {_gb(stage['peak_tree_bytes'])} "
            f"| {_gb(stage['peak_process_bytes'])} "
            f"| {count} | {rate} | {stage['seconds'] / floor_s:.1f} |")
    first, inc = result["first_refresh"], result["incremental_refresh"]
    lines += [
        f"| **first refresh** (load .. report) | {first['seconds']:.1f} | {first['cpu_seconds']:.1f} "
        f"| {_gb(first['peak_tree_bytes'])} | "
        f"{_gb(first['peak_process_bytes'])} | | | {first['seconds'] / floor_s:.1f} |",
        f"| **one-day incremental** (`crmw refresh`) | {inc['seconds']:.1f} | {inc['cpu_seconds']:.1f} "
        f"| {_gb(inc['peak_tree_bytes'])} | "
        f"{_gb(inc['peak_process_bytes'])} | | | {inc['seconds'] / floor_s:.1f} |"
        if inc else "| **one-day incremental** (`crmw refresh`) | not run (`--skip-incremental`) | | | | | | |",
        "",
    ]
    for name in ("dbt upstream", "dbt build"):
        layers = result["stages"][name].get("layers", {})
        lines.append(f"{name}, dbt's execution time by layer (s): "
                     + ", ".join(f"{k} {v:.1f}" for k, v in layers.items()))
    peers = result.get("peers")
    if peers:
        b, d, i = peers["bgnbd"], peers["deciles"], peers["identity"]
        lines += [
            "",
            "| peer comparison | ours | peer | ratio |",
            "|---|---|---|---|",
            f"| BG/NBD fit, {b['customers']:,} customers (s) | {b['ours_median_s'] or b.get('ours_error')} "
            f"| lifetimes {b['lifetimes_s']} (penalizer {b.get('lifetimes_penalizer')}"
            f"{'; ' + b['lifetimes_error'] if 'lifetimes_error' in b else ''}) | "
            + (f"ours {b['lifetimes_s'] / b['ours_median_s']:.1f}× faster |"
               if b["lifetimes_s"] and b["ours_median_s"] else "n/a |"),
            f"| profitability deciles (s) | dbt models {d['dbt_models_s']} | pandas {d['pandas_s']} | "
            f"{d['pandas_s'] / d['dbt_models_s']:.2f} (same deciles: {d['agree']}) |",
            f"| identity resolution (records/min) | {i['records_per_minute']:,.0f} "
            f"| Splink ~{SPLINK_RECORDS_PER_MINUTE:,} (published, laptop) "
            f"| {i['records_per_minute'] / SPLINK_RECORDS_PER_MINUTE:.2f} |",
        ]
    lines += ["", "Dashboard callbacks on this scale's published database (bench/dashboard_callbacks.py):", "",
              result.get("dashboard_callbacks", "not run")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--home", type=Path, help="scratch CRMW_HOME (default /tmp/crmw-bench-<scale>)")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-incremental", action="store_true",
                        help="leave out the one-day incremental refresh (the dashboard callbacks still run)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the warehouse and the stages already measured; run the rest")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        run_stage(args.stage, args.out)
        return

    customers = SCALES[args.scale]
    home = (args.home or Path(f"/tmp/crmw-bench-{args.scale}")).absolute()
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CRMW_HOME": str(home)}
    logs = home / "bench-logs"
    logs.mkdir(exist_ok=True)
    crmw = str(Path(sys.executable).with_name("crmw"))
    result: dict = {
        "scale": args.scale, "customers": customers, "date": dt.date.today().isoformat(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "load_average_start": [round(x, 1) for x in os.getloadavg()], "stages": {},
    }

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    marker = home / "bench-demo.json"
    wanted = {"customers": customers, "start": str(START), "end": str(END), "seed": SEED}
    aside = home / "bench-aside"
    if aside.exists():  # an interrupted run: its set-aside day belongs in the landing folder
        _put_back(aside, home / "landing")
    if args.resume:
        say("resuming: the warehouse and the measured stages stay")
    elif not (marker.exists() and json.loads(marker.read_text()) == wanted):
        say(f"generating the demo bank: {customers:,} customers")
        shutil.rmtree(home / "landing", ignore_errors=True)
        result["stages"]["generate"] = measure(
            [crmw, "demo", "--customers", str(customers), "--seed", str(SEED), "--start", str(START), "--end", str(END),
             "--force"], env, logs / "generate.log")
        marker.write_text(json.dumps(wanted))
    if not args.resume:
        _reset(home)
    moved = _set_aside(home / "landing", END, aside)
    say(f"set aside {moved} files of {END} for the incremental refresh")

    for name in ("floor", *STAGES):
        facts_path = logs / f"{name.replace(' ', '_')}.json"
        measured_path = facts_path.with_suffix(".measured.json")
        if args.resume and measured_path.exists():
            result["stages"][name] = json.loads(measured_path.read_text())
            continue
        measured_path.unlink(missing_ok=True)
        say(f"{name} ...")
        stage = measure([sys.executable, __file__, "--stage", name, "--out", str(facts_path)], env,
                        logs / f"{name.replace(' ', '_')}.log")
        stage.update(json.loads(facts_path.read_text()))
        measured_path.write_text(json.dumps(stage))
        result["stages"][name] = stage
        say(f"{name}: {stage['seconds']:.1f} s, peak {_gb(stage['peak_tree_bytes'])} GB")

    first = [result["stages"][s] for s in STAGES]
    result["first_refresh"] = {
        "seconds": round(sum(s["seconds"] for s in first), 2),
        "cpu_seconds": round(sum(s["cpu_seconds"] for s in first), 2),
        "peak_tree_bytes": max(s["peak_tree_bytes"] for s in first),
        "peak_process_bytes": max(s["peak_process_bytes"] for s in first),
    }
    if not args.skip_peers:
        say("peers ...")
        warehouse = home / "warehouse" / "crm.duckdb"
        identity = result["stages"]["identity"]
        result["peers"] = {
            "bgnbd": bgnbd_peer(warehouse),
            "deciles": deciles_peer(warehouse, result["stages"]["dbt build"]["models"]),
            "identity": {"records_per_minute": identity["rows"] / identity["seconds"] * 60},
        }

    _put_back(aside, home / "landing")
    result["incremental_refresh"] = None
    if not args.skip_incremental:
        say("one-day incremental refresh (crmw refresh) ...")
        result["incremental_refresh"] = measure([crmw, "refresh"], env, logs / "incremental.log")
        say(f"incremental: {result['incremental_refresh']['seconds']:.1f} s")
    say("dashboard callbacks on the published database ...")
    callbacks = subprocess.run([sys.executable, str(ROOT / "bench" / "dashboard_callbacks.py"), "--repeat", "20"],
                               env=env, cwd=ROOT, capture_output=True, text=True)
    result["dashboard_callbacks"] = callbacks.stdout if callbacks.returncode == 0 else callbacks.stderr[-2000:]
    result["load_average_end"] = [round(x, 1) for x in os.getloadavg()]

    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"{result['date']}-{args.scale}"
    for stage in result["stages"].values():
        stage.pop("models", None)  # per-model times stay in the logs folder; the summary keeps layers
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = render(result)
    stem.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
