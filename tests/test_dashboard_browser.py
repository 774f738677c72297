"""The dashboards in a real browser: Playwright drives Debian's chromium (headless) against the app served on
a free local port over a tiny published database (tests/dashboard_db.py). It logs in, visits every page,
checks that the charts drew data and the console stayed clean, changes filters (Profitability, Segments) and
sees the figures change, exports target lists, and checks that an analyst sees no personal data and a
logged-out visitor nothing."""

from __future__ import annotations

import csv
import io
import re
import shutil
import threading

import pytest
from dashboard_db import build_serving
from playwright import sync_api
from werkzeug.serving import make_server

from dashboards.app import create_app
from dashboards.auth import add_user, users_path
from dashboards.pages import PAGES

CHROMIUM = shutil.which("chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
EMAIL = re.compile(r"person\d\d@example\.com")
TIMEOUT = 20_000  # ms; a shared, loaded machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = build_serving(tmp_path_factory.mktemp("browser_home"))
    users = users_path(settings.home)
    add_user(users, "ada", "admin", "ada-password")
    add_user(users, "ann", "analyst", "ann-password")
    app = create_app(settings, "b" * 32, users)
    httpd = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `make browser` (or apt-get install chromium) installs it")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


class Session:
    """One browser context (cookies) with its console errors collected."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, user: str) -> None:
        self.page.goto(self.base + "/")
        self.page.fill("#username", user)
        self.page.fill("#password", f"{user}-password")
        self.page.click("#login")
        self.page.wait_for_selector("#whoami:has-text('(')")

    def graphs_with_data(self) -> dict[str, int]:
        """Id of each drawn chart on the page -> points it plots."""
        return self.page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')]
            .map(el => [el.closest('[id]').id, (el.data || []).reduce((n, t) =>
                n + ((t.z || t.y || t.x || t.r || []).length || 0), 0)]))""")

    def figure_y(self, graph_id: str, trace: int) -> list:
        return self.page.evaluate(f"() => document.querySelector('#{graph_id} .js-plotly-plot').data[{trace}].y")

    def export(self, link: str = "#export-link", address_has: str = "") -> list[dict]:
        """Click an export link once its address carries `address_has` (a callback rewrites it when a filter
        changes) and read the CSV the browser saves."""
        self.page.wait_for_selector(f"{link}[href*='{address_has}']")
        with self.page.expect_download() as download:
            self.page.click(link)
        assert download.value.suggested_filename.endswith(".csv")
        text = open(download.value.path(), encoding="utf-8").read()
        return list(csv.DictReader(io.StringIO(text)))

    def close(self) -> None:
        self.context.close()


def test_a_logged_out_visitor_sees_nothing(server, browser):
    visitor = Session(browser, server)
    for path in ("/", "/profitability", "/customer"):
        visitor.page.goto(server + path)
        assert visitor.page.url.startswith(f"{server}/login")
        assert visitor.page.locator("#login").is_visible()
        assert "Revenue" not in visitor.page.content() and not EMAIL.search(visitor.page.content())
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert visitor.context.request.get(server + path).status == 401
    visitor.close()


def test_every_page_draws_its_charts_filters_change_them_and_a_list_exports(server, browser):
    admin = Session(browser, server)
    admin.login("ada")
    drawn = {}
    for page in PAGES:
        admin.page.click(f"#nav-{page.__name__.rsplit('.', 1)[1]}")
        admin.page.wait_for_selector(f"#page h2:has-text('{page.TITLE}')")
        if page.PATH != "/customer":
            admin.page.wait_for_selector(".js-plotly-plot .main-svg")
        drawn[page.PATH] = admin.graphs_with_data()
    expected = {"/": {"exec-trend"}, "/profitability": {"prof-deciles", "prof-products", "prof-mix", "prof-whale",
                                                         "prof-migration", "shift-figure"},
                "/segments": {"seg-sizes", "seg-clv-hist", "seg-clv-box", "seg-region", "seg-geo"},
                "/campaigns": {"camp-spend", "camp-performance", "camp-gains", "camp-lift", "camp-policies"},
                "/customer": set(),
                "/quality": {"dq-time", "dq-source-heat", "dq-quarantine", "dq-clusters"},
                "/maturity": {"mat-ladder", "mat-radar"},
                "/pipeline": {"pipe-freshness", "pipe-usage"}}  # usage: the page views just made
    assert {p: set(g) for p, g in drawn.items()} == expected
    assert all(points > 0 for graphs in drawn.values() for points in graphs.values()), drawn

    # The region filter redraws the deciles; the what-if deciles redraw the shift.
    admin.page.click("#nav-profitability")
    admin.page.wait_for_selector("#prof-deciles .js-plotly-plot .main-svg")
    everyone = admin.figure_y("prof-deciles", 0)
    admin.page.click("#prof-region")
    admin.page.get_by_role("option", name="London").click()
    admin.page.wait_for_function(
        "() => document.querySelector('#prof-deciles .js-plotly-plot').data[0].y[0] === 1400")
    assert everyone[0] == 2700 and admin.figure_y("prof-deciles", 0)[:3] == [1400, 1200, 1000]
    before = admin.figure_y("shift-figure", 1)
    admin.page.get_by_label("D7").first.check()
    admin.page.wait_for_function(
        f"() => document.querySelector('#shift-figure .js-plotly-plot').data[1].y[6] !== {before[6]}")

    rows = admin.export(address_has="region=London")  # decile 10 of London: K19
    assert [r["customer_key"] for r in rows] == ["K19"]
    assert rows[0]["email"] == "person19@example.com"

    admin.page.click("#logout")
    admin.page.wait_for_selector("#login")
    admin.page.goto(server + "/profitability")
    assert admin.page.url.startswith(f"{server}/login")
    assert admin.errors == []
    admin.close()


def test_an_analyst_sees_customer_keys_but_no_personal_data(server, browser):
    analyst = Session(browser, server)
    analyst.login("ann")
    analyst.page.click("#nav-lookup")
    analyst.page.fill("#lookup-input", "X02")
    analyst.page.press("#lookup-input", "Enter")
    analyst.page.wait_for_selector("#lookup-customer")
    text = analyst.page.inner_text("#lookup-customer")
    assert "Customer K02" in text and "digital" in text and "Personal data hidden" in text
    assert not EMAIL.search(text) and "Person02" not in text and "High Street" not in text
    analyst.page.click("#nav-profitability")
    rows = analyst.export(address_has="decile=10")
    assert [r["customer_key"] for r in rows] == ["K19", "K20"]
    assert "email" not in rows[0] and "last_name" not in rows[0]

    # A Segments filter redraws the selection; the export is the selection, without personal data.
    analyst.page.click("#nav-segments")
    analyst.page.wait_for_selector("#seg-sizes .js-plotly-plot .main-svg")
    assert analyst.figure_y("seg-sizes", 0) == [4, 6, 6, 4]
    analyst.page.click("#seg-f-tier")
    analyst.page.get_by_role("option", name="Platinum").click()
    analyst.page.wait_for_function(
        "() => document.querySelector('#seg-sizes .js-plotly-plot').data[0].y.length === 1")
    assert analyst.figure_y("seg-sizes", 0) == [4]
    assert analyst.page.inner_text("#seg-summary").startswith("4 customers selected")
    rows = analyst.export("#seg-export-link", address_has="tier=Platinum")
    assert [r["customer_key"] for r in rows] == ["K01", "K02", "K03", "K04"]
    assert {r["value_tier"] for r in rows} == {"Platinum"} and "email" not in rows[0]
    assert analyst.errors == []
    analyst.close()
