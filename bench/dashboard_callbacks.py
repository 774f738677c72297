"""Latency of every dashboard callback over HTTP (Flask test client, as the browser posts them), on the
database published at $CRMW_HOME: p50, p95 and max per callback; then the same for the target-list downloads
(GET of an export link's address, the whole CSV read). Timings on a shared machine are noisy.

    CRMW_HOME=/tmp/home .venv/bin/python bench/dashboard_callbacks.py [--repeat 40] [--cold]

By default the app runs as `crmw serve` runs it, with its per-version caches (dashboards.data results,
dashboards.response_cache answers), so a repeated request is answered from memory. `--cold` turns both off:
every request runs its queries and builds its figures (the first view of each page after a publish costs
about that). The connection and the in-memory tables prepared per published version are kept either way
(their one-time cost is printed first).
"""

from __future__ import annotations

import argparse
import itertools
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from dashboards import response_cache
from dashboards.app import create_app
from dashboards.auth import add_user
from dashboards.client import post_callback, sign_in
from dashboards.data import ServingData
from dashboards.pages import PAGES, pipeline, profitability, segments
from orchestration.settings import load_settings


def percentile_95(times: list[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="requests per callback (default 40)")
    parser.add_argument("--cold", action="store_true",
                        help="compute every request: no per-version result cache, no callback answer cache")
    args = parser.parse_args()
    settings = load_settings()
    data = ServingData(settings, memoise=not args.cold)
    if args.cold:
        response_cache.install = lambda server, data: None
    with data.session():
        for name, prepare in (("segment base", data.segment_base_ready), ("campaign base", data.campaign_base_ready)):
            started = time.perf_counter()
            ready = prepare()
            print(f"prepare {name} (once per published version): {(time.perf_counter() - started) * 1000:.0f} ms"
                  f"{'' if ready else ' (tables missing)'}")
        options = data.segment_options()
        regions = [None, *data.regions()]
        key = data.target_list([1], None, with_pii=False)["customer_key"].iloc[0]
        sources = [None, *data.dq_sources()]
        customers = data.headline().get("ranked_customers")
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.json"
        add_user(users, "bench", "admin", "bench-password")
        app = create_app(settings, secrets.token_urlsafe(32), users, data)
        client = app.server.test_client()
        sign_in(client, "bench", "bench-password")
        shares = itertools.cycle([0.1, 0.3, 0.5, 0.8])
        decile_sets = itertools.cycle([[10], [8, 9, 10], [5, 6, 7, 8, 9, 10], [1]])
        region_cycle = itertools.cycle(regions)
        source_cycle = itertools.cycle(sources)
        # Segments: one filter at a time, each of its values, then pairs (tier x region, decile x channel).
        picks = [{}] + [{k: [v]} for k, values in options.items() for v in values[:6]] + [
            {"tier": [t], "region": [r]} for t in options["tier"][:2] for r in options["region"][:3]] + [
            {"decile": [d], "channel": [c]} for d in (1, 10) for c in options["channel"][:3]]
        pick_cycle = itertools.cycle(picks)
        dimension_cycle = itertools.cycle(["value_tier", "profit_decile", "rfm_segment", "behaviour_segment",
                                           "treatment"])

        def segment_filters(chosen: dict) -> list:
            return [(f"seg-f-{k}", "value", chosen.get(k)) for k in
                    ("tier", "behaviour", "rfm", "decile", "region", "product", "channel")]
        calls = {f"page {page.PATH}": (lambda p=page: ([("page", "children"), ("whoami", "children")],
                                                      [("url", "pathname", p.PATH)], []))
                 for page in PAGES}
        calls.update({
            "profitability region filter": lambda: (
                [("prof-deciles", "figure"), ("prof-products", "figure"), ("prof-mix", "figure"),
                 ("prof-table", "children")], [("prof-region", "value", next(region_cycle))], []),
            "channel-shift sliders": lambda: (
                [("shift-figure", "figure"), ("shift-summary", "children")],
                [("shift-share", "value", next(shares)), ("shift-deciles", "value", next(decile_sets))],
                [("prof-region", "value", next(region_cycle))]),
            "target list link (deciles)": lambda: (
                [("export-link", "href")],
                [("export-deciles", "value", next(decile_sets)), ("prof-region", "value", next(region_cycle))], []),
            "data-quality source filter": lambda: (
                [("dq-issues", "children")], [("dq-source", "value", next(source_cycle))], []),
            "segments filters": lambda: (
                [("seg-summary", "children"), ("seg-sizes", "figure"), ("seg-clv-hist", "figure"),
                 ("seg-clv-box", "figure")], segment_filters(next(pick_cycle)), []),
            "segments export link": lambda: (
                [("seg-export-link", "href")], segment_filters(next(pick_cycle)), []),
            "campaigns group-by": lambda: (
                [("camp-performance", "figure"), ("camp-performance-tables", "children")],
                [("camp-dimension", "value", next(dimension_cycle))], []),
            "customer lookup": lambda: (
                [("lookup-result", "children")], [("lookup-go", "n_clicks", 1), ("lookup-input", "value", key)], []),
        })
        print(f"serving database {settings.serving_path} ({customers:,} ranked customers); "
              f"{args.repeat} requests per callback after one warm-up; result cache "
              f"{'off' if args.cold else 'on'}; {len(picks)} distinct Segments filter choices")
        print(f"{'callback':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, make in calls.items():
            post_callback(client, *make())  # warm-up
            pipeline.run_history(data).wait()  # the Pipeline page's first view starts reading the run history
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                code, _ = post_callback(client, *make())
                times.append((time.perf_counter() - started) * 1000)
                assert code == 200, (name, code)
            p95 = percentile_95(times)
            print(f"{name:<34} {statistics.median(times):>8.0f} {p95:>8.0f} {max(times):>8.0f}")
        downloads = {
            "target list (decile 10)": profitability.export_href([10], None),
            "segments list (Platinum tier)": segments.export_href({"tier": options["tier"][:1]}),
        }
        print(f"\n{'download (GET, whole CSV)':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'rows':>8} {'MB':>6}")
        for name, address in downloads.items():
            client.get(address).get_data()  # warm-up
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(address)
                body = response.get_data()
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (name, response.status_code)
            p95 = percentile_95(times)
            rows = body.count(b"\n") - 1  # less the header
            print(f"{name:<34} {statistics.median(times):>8.0f} {p95:>8.0f} {max(times):>8.0f} "
                  f"{rows:>8,} {len(body) / 1e6:>6.1f}")


if __name__ == "__main__":
    main()
