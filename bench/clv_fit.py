"""Benchmark: BG/NBD fit time at CDNOW scale (23,570 customers) and on 1M synthetic customers.

Not part of the test suite. Runs models_ml.clv.BetaGeoNBD and, as a reference in the same process,
lifetimes' BetaGeoFitter (dev dependency). Times are wall-clock medians of several runs plus the CPU time of
this process; the machine is shared, so read them with the load average printed beside them.

    .venv/bin/python bench/clv_fit.py [--runs 5] [--customers 1000000] [--lifetimes-runs-1m 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models_ml.clv import BetaGeoNBD, rfm_summary, simulate_bgnbd

CALIBRATION_END = "1997-09-30"
SEED = 20050101


def cdnow_file(name: str) -> Path:
    """A CDNOW file shipped in the lifetimes package (dev dependency), found without importing lifetimes."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None:
        raise SystemExit("install the dev extra (lifetimes==0.11.3) for the CDNOW files")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / name


def cdnow_master() -> pd.DataFrame:
    """All 23,570 CDNOW customers' transactions."""
    return pd.read_csv(cdnow_file("CDNOW_master.txt"), sep=r"\s+", header=0,
                       names=["customer_id", "date", "cds", "value"], dtype={"date": str})


def synthetic(fitted: BetaGeoNBD, template: pd.DataFrame, n: int) -> pd.DataFrame:
    """n customers drawn from the fitted process, with T resampled from the template; times floored to days."""
    T = np.random.default_rng(SEED).choice(template["T"].to_numpy(), size=n, replace=True)
    drawn = simulate_bgnbd(fitted.r_, fitted.alpha_, fitted.a_, fitted.b_, T, seed=SEED)
    drawn["recency"] = np.floor(drawn["recency"])
    return drawn[["frequency", "recency", "T"]]


def timed(fit, runs: int) -> dict:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fit()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "runs": runs,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "median_cpu_s": statistics.median(cpus),
        "result": result,
    }


def ours(rfm: pd.DataFrame) -> dict:
    model = BetaGeoNBD().fit(rfm)
    return {**model.params_, "ll": model.log_likelihood_, "distinct_rows": model.n_distinct_rows_}


def lifetimes_fit(rfm: pd.DataFrame) -> dict:
    from lifetimes import BetaGeoFitter  # dev-only reference; never imported by models_ml

    fitter = BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    return {**fitter.params_.to_dict(), "distinct_rows": None}


def with_log_likelihood(rfm: pd.DataFrame, timing: dict) -> dict:
    """Score the reference's parameters with our likelihood, on the original time scale (lifetimes rescales)."""
    model = BetaGeoNBD()
    res = timing["result"]
    model.r_, model.alpha_, model.a_, model.b_ = (res[k] for k in ("r", "alpha", "a", "b"))
    res["ll"] = model.log_likelihood(rfm)
    return timing


def row(name: str, n: int, timing: dict) -> str:
    res = timing["result"]
    params = " ".join(f"{k}={float(res[k]):.4g}" for k in ("r", "alpha", "a", "b"))
    return (
        f"| {name} | {n:,} | {timing['runs']} | {timing['median_s']:.3f} | {timing['min_s']:.3f}-{timing['max_s']:.3f} "
        f"| {timing['median_cpu_s']:.3f} | {params} | {res['ll']:.1f} | {os.getloadavg()[0]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-runs-1m", type=int, default=1, help="0 skips lifetimes on the large set")
    parser.add_argument("--skip-lifetimes", action="store_true")
    args = parser.parse_args()

    rfm = rfm_summary(cdnow_master(), CALIBRATION_END, value_col="value")[["frequency", "recency", "T"]]
    base = BetaGeoNBD().fit(rfm)
    large = synthetic(base, rfm, args.customers)
    print(f"CDNOW master, 39-week calibration, days: {len(rfm):,} customers; synthetic: {len(large):,} customers")
    print(f"load average before: {os.getloadavg()}; cores: {os.cpu_count()}")
    print("| fitter | customers | runs | median wall s | range s | median CPU s | parameters (days) | LL | load 1m |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(row("crm-warehouse BetaGeoNBD", len(rfm), timed(lambda: ours(rfm), args.runs)), flush=True)
    print(row("crm-warehouse BetaGeoNBD", len(large), timed(lambda: ours(large), args.runs)), flush=True)
    if args.skip_lifetimes:
        return
    try:
        import lifetimes  # noqa: F401
    except Exception as error:  # the import needs pkg_resources, gone from new setuptools
        print(f"lifetimes could not be imported here: {error!r}")
        return
    for data, runs in ((rfm, args.runs), (large, args.lifetimes_runs_1m)):
        if runs:
            timing = with_log_likelihood(data, timed(lambda d=data: lifetimes_fit(d), runs))
            print(row("lifetimes BetaGeoFitter", len(data), timing), flush=True)


if __name__ == "__main__":
    main()
