"""`crmw`: the command line. Each subcommand is one stage; `crmw run` chains them for a first look."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import duckdb

from orchestration.dbt_runner import DbtError, run_dbt
from orchestration.landing.loader import load_landing
from orchestration.settings import ConfigError, Settings, load_settings
from orchestration.summary import collect, render


def _say(message: str) -> None:
    print(message, flush=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from exc


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from orchestration.demo_bank import generate_demo

    landing, truth = settings.landing_dir, settings.demo_truth_dir
    if landing.exists() and any(landing.iterdir()) and not args.force:
        _say(f"error: {landing} already holds landing files; pass --force to replace the demo's systems")
        return 2
    demo = settings.demo
    customers = args.customers or demo.customers
    seed = demo.seed if args.seed is None else args.seed
    start, end = args.start or demo.start, args.end or demo.end
    if end < start:
        _say(f"error: --end {end} is before --start {start}")
        return 2
    _say(f"generating the demo bank: {customers:,} customers, {start} .. {end}, seed {seed} -> {landing}")
    summary = generate_demo(
        landing, truth, customers=customers, seed=seed, start=start, end=end, progress=_say, overwrite=args.force
    )
    _say(f"demo written in {summary.seconds:.1f}s; planted truth in {truth}")
    return 0


def _load(settings: Settings, date_from: dt.date | None, date_to: dt.date | None) -> bool:
    with settings.connect_warehouse() as con:
        report = load_landing(con, settings.landing_dir, date_from, date_to, progress=_say)
    _say(
        f"load: {report.files_loaded} files loaded, {report.files_unchanged} unchanged, "
        f"{len(report.rejected)} rejected; {report.rows_loaded:,} rows, "
        f"{report.rows_quarantined:,} quarantined, {report.dq_issues:,} data-quality issues "
        f"in {report.seconds:.1f}s"
    )
    for _, reason in report.rejected:
        _say(f"  rejected {reason}")
    return not report.rejected


def cmd_load(settings: Settings, args: argparse.Namespace) -> int:
    ok = _load(settings, args.date_from, args.date_to)
    return 0 if ok or not args.strict else 1


def cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    """dbt's first part, identity resolution, dbt's second part; with --select, only that dbt selection
    (identity's tables must exist for anything after it). On a Spark target the raw layer is copied first."""
    from orchestration.assets.dbt import UPSTREAM_SELECT
    from orchestration.identity import run_identity

    if settings.dbt.engine == "spark":
        # The loader writes the raw layer into the DuckDB file; the Spark warehouse gets a copy of it.
        from orchestration.landing.raw_tables import RAW_SCHEMA
        from orchestration.warehouses import copy_to_spark, open_warehouse

        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            copied = copy_to_spark(con, open_warehouse(settings), RAW_SCHEMA)
        _say(f"raw layer copied to Spark: {len(copied)} tables")
    if args.select:
        run_dbt(settings, ["build", "--select", args.select], progress=_say)
        return 0
    run_dbt(settings, ["build", "--select", UPSTREAM_SELECT, "--indirect-selection", "buildable"], progress=_say)
    run = run_identity(settings)
    report = run.report
    _say(f"identity: {report.records:,} records -> {report.customers:,} customers ({report.new_records:,} new, "
         f"{report.changed_records:,} changed) in {sum(report.seconds.values()):.1f}s"
         + (f"; demo truth precision {run.accuracy.precision:.4f} recall {run.accuracy.recall:.4f}"
            if run.accuracy else ""))
    run_dbt(settings, ["build", "--exclude", UPSTREAM_SELECT, "--indirect-selection", "buildable"], progress=_say)
    return 0


def cmd_summary(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.warehouse_path.exists():
        _say(f"error: no warehouse at {settings.warehouse_path}; run `crmw run` first")
        return 2
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        _say(render(collect(con)))
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Generate the demo when the landing folder is empty, refresh (load, build, test, check, publish),
    then summarise the working warehouse."""
    timings: dict[str, float] = {}
    landing = settings.landing_dir
    if not (landing.exists() and any(landing.iterdir())):
        started = time.perf_counter()
        code = cmd_demo(settings, argparse.Namespace(customers=None, seed=None, start=None, end=None, force=False))
        if code:
            return code
        timings["generate demo"] = time.perf_counter() - started
    else:
        _say(f"using the landing files already in {landing}")
    result = _refresh(settings, None, None)
    if result is None or not result.success:
        return 2 if result is None else 1
    timings.update((s.name, s.seconds) for s in result.stages if s.seconds is not None)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        summary = collect(con)
    summary.timings = timings
    _say(render(summary))
    _say(f"\nworking warehouse: {settings.warehouse_path}\npublished (what dashboards read): {settings.serving_path}")
    return 0


def _refresh(settings: Settings, date_from: dt.date | None, date_to: dt.date | None):
    """Run the refresh with progress bars and print its result table; None when it could not start."""
    from orchestration.progress import ProgressBars
    from orchestration.refresh import RefreshError, refresh, render_result

    bars = ProgressBars()
    try:
        result = refresh(settings, date_from, date_to, listener=bars)
    except RefreshError as exc:
        _say(f"error: {exc}")
        return None
    finally:
        bars.close()
    _say(render_result(result))
    return result


def cmd_refresh(settings: Settings, args: argparse.Namespace) -> int:
    """The daily refresh, once, over a range of delivery days: load, build, test, check, publish."""
    if args.date_from and args.date_to and args.date_to < args.date_from:
        _say(f"error: --to {args.date_to} is before --from {args.date_from}")
        return 2
    result = _refresh(settings, args.date_from, args.date_to)
    return 2 if result is None else (0 if result.success else 1)


def cmd_ui(settings: Settings, args: argparse.Namespace) -> int:
    """The Dagster webserver (and the daemon that runs the schedule and sensors) on 127.0.0.1."""
    import os
    import signal

    from orchestration.assets.dbt import dbt_project, ensure_manifest
    from orchestration.instance import prepare_dagster_home

    env = {**os.environ, **prepare_dagster_home(settings)}
    ensure_manifest(settings, dbt_project(settings))  # parse once here rather than in every process
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "orchestration.definitions",
           "--host", "127.0.0.1", "--port", str(args.port)]
    _say(f"Dagster UI on http://127.0.0.1:{args.port} (schedule and sensors run while it is up); Ctrl-C stops it")
    # Become `dagster dev`, so Ctrl-C and SIGTERM reach it (and it stops its webserver and daemon). A
    # SIGINT ignored by a background shell would be inherited and make it unstoppable: restore it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(sys.executable, cmd, env)
    return 0  # not reached


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from orchestration.status import collect_status, render_status

    _say(render_status(collect_status(settings), settings))
    return 0


def cmd_export_targets(settings: Settings, args: argparse.Namespace) -> int:
    """A campaign's target list from the published scores: best expected value first, within the budget, with a
    random control group held out; audited."""
    import getpass

    from orchestration.targeting import export_targets

    try:
        export = export_targets(settings, args.campaign, args.budget, channel=args.channel,
                                cost_per_contact=args.cost_per_contact, value_per_response=args.value,
                                control_share=args.control_share, out=args.out, user=getpass.getuser())
    except FileNotFoundError as exc:
        _say(f"error: {exc}; run `crmw refresh` first")
        return 2
    except ValueError as exc:
        _say(f"error: {exc}")
        return 2
    _say(f"{args.campaign}: {export.contacts:,} customers to contact ({export.cost:,.2f} of the budget "
         f"{args.budget:,.2f} at {export.cost_per_contact:.2f} a contact) and {export.controls:,} held out as the "
         f"control group, scored as of {export.as_of_date} -> {export.path}")
    return 0


def cmd_assess(settings: Settings, args: argparse.Namespace) -> int:
    """The readiness and maturity questionnaire: asked here, or read from --answers; the answers go where the
    refresh scores them."""
    from models_ml.maturity.yamlfile import MaturityFileError
    from orchestration.assess import AssessAborted, default_respondent, run_assess

    try:
        run_assess(settings, args.answers, args.by or default_respondent(), input, sys.stdout)
    except (MaturityFileError, AssessAborted) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmw",
        description="crm-warehouse: analytical CRM warehouse. State lives in $CRMW_HOME (default .crmw/).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate the demo bank's landing files (deterministic)")
    demo.add_argument("--customers", type=int, help="number of customers (default from settings: 20000)")
    demo.add_argument("--seed", type=int, help="random seed (default from settings: 42)")
    demo.add_argument("--start", type=_date, help="first day of history (YYYY-MM-DD)")
    demo.add_argument("--end", type=_date, help="last day of history (YYYY-MM-DD)")
    demo.add_argument("--force", action="store_true", help="replace the demo systems' landing files already there")
    demo.set_defaults(func=cmd_demo)

    load = sub.add_parser("load", help="load new or changed landing files into the raw tables")
    load.add_argument("--from", dest="date_from", type=_date, help="only files delivered on or after this day")
    load.add_argument("--to", dest="date_to", type=_date, help="only files delivered on or before this day")
    load.add_argument("--strict", action="store_true", help="exit 1 when any file is rejected")
    load.set_defaults(func=cmd_load)

    build = sub.add_parser(
        "build", help="dbt build (seeds, staging, ODS views), identity resolution, dbt build (ODS, snapshot, "
        "warehouse), with tests"
    )
    build.add_argument("--select", help="dbt node selection, e.g. 'staging' or '+fct_transactions'")
    build.set_defaults(func=cmd_build)

    run = sub.add_parser("run", help="demo (if no landing files) + refresh (load, build, test, publish) + summary")
    run.set_defaults(func=cmd_run)

    summary = sub.add_parser("summary", help="rows per layer and data-quality counts")
    summary.set_defaults(func=cmd_summary)

    refresh = sub.add_parser(
        "refresh", help="the daily refresh once: load new landing files, dbt build + tests, checks, publish"
    )
    refresh.add_argument("--from", dest="date_from", type=_date,
                         help="first delivery day to (re)load; with --to, re-runs that range")
    refresh.add_argument("--to", dest="date_to", type=_date,
                         help="last delivery day to load; alone, the warehouse as it was on that day")
    refresh.set_defaults(func=cmd_refresh)

    ui = sub.add_parser("ui", help="Dagster UI on 127.0.0.1: asset graph, runs, schedule and sensors")
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    ui.set_defaults(func=cmd_ui)

    status = sub.add_parser("status", help="last refresh, what is published, freshness, quarantine, failures")
    status.set_defaults(func=cmd_status)

    export = sub.add_parser("export-targets",
                            help="a campaign's target list (CSV) within a budget, with a control group")
    export.add_argument("--campaign", required=True, help="campaign name (also seeds its control group draw)")
    export.add_argument("--budget", required=True, type=float, help="money for contacts")
    export.add_argument("--channel", help="channel whose cost_per_contact (seeds/channels.csv) applies "
                        "(default [targeting] channel)")
    export.add_argument("--cost-per-contact", type=float, help="cost of one contact (instead of the channel's)")
    export.add_argument("--value", type=float, help="value of one response (default: past responses' mean)")
    export.add_argument("--control-share", type=float, help="share of the list held out (default [targeting])")
    export.add_argument("--out", type=Path, help="CSV path (default $CRMW_HOME/exports/targets-<campaign>-<as-of>.csv)")
    export.set_defaults(func=cmd_export_targets)

    assess = sub.add_parser("assess", help="the CRM readiness and maturity questionnaire (four sponsors and the "
                            "readiness audit): asked here or read from a file; prints scores and measured stages")
    assess.add_argument("--answers", type=Path, metavar="FILE",
                        help="read the answers from this YAML file instead of asking (the format crmw assess writes)")
    assess.add_argument("--by", metavar="NAME", help="who answered (default: the login name)")
    assess.set_defaults(func=cmd_assess)

    from dashboards.cli import add_subcommands  # serve, report, users

    add_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.func(settings, args)
    except (ConfigError, DbtError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except duckdb.IOException as exc:
        print(f"error: cannot open the warehouse ({exc}); is another crmw process writing it?", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

