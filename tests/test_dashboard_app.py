"""The Dash app's server and callbacks through the Flask test client, over a tiny published database
(tests/dashboard_db.py): login in front of everything, roles and personal data, bound filter values,
target list export, "not built yet" notices, the report pack and `crmw users`."""

from __future__ import annotations

import io
import json
import re
import sys

import duckdb
import pytest
from dashboard_db import build_serving

from dashboards.app import create_app
from dashboards.auth import UserError, add_user, authenticate, load_users, remove_user, users_path
from dashboards.client import post_callback, sign_in
from dashboards.data import ServingData
from dashboards.report import write_report
from orchestration.audit import read_events
from orchestration.cli import main

PAGES = ["/", "/profitability", "/segments", "/campaigns", "/customer", "/quality", "/maturity", "/pipeline"]
ROUTE = [("page", "children"), ("whoami", "children")]
DECILE_OUTPUTS = [("prof-deciles", "figure"), ("prof-products", "figure"), ("prof-mix", "figure"),
                  ("prof-table", "children")]
INJECTIONS = ["London' or '1'='1", "'; drop table marts.customer_profitability; --", "K01' --",
              "\" or 1=1 --", "North West') union select * from warehouse.dim_customer --"]
EMAIL = re.compile(r"person\d\d@example\.com")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    settings = build_serving(tmp_path_factory.mktemp("dash_home"))
    users = users_path(settings.home)
    for name, role in [("ann", "analyst"), ("sam", "steward"), ("eve", "executive"), ("ada", "admin")]:
        add_user(users, name, role, f"{name}-password")
    app = create_app(settings, "s" * 32, users)
    return settings, app, users


@pytest.fixture(scope="module")
def clients(served):
    """One signed-in test client per user, shared by the tests that only read."""
    _, app, _ = served
    return {user: client_for(app, user) for user in ("ann", "sam", "eve", "ada")}


def client_for(app, user: str | None):
    client = app.server.test_client()
    if user:
        response = sign_in(client, user, f"{user}-password")
        assert response.status_code == 302 and response.headers["Location"] == "/"
    return client


def page(client, path: str) -> str:
    code, body = post_callback(client, ROUTE, [("url", "pathname", path)])
    assert code == 200
    return json.dumps(body["response"]["page"]["children"])


def download(client, link: str, inputs: list) -> tuple[str, str]:
    """Follow an export link as the browser does: the callback that rewrites its address on a filter change,
    then a GET of that address. The CSV text and the file name it is saved under."""
    code, body = post_callback(client, [(link, "href")], inputs)
    assert code == 200
    response = client.get(body["response"][link]["href"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    name = re.fullmatch(r'attachment; filename="(.+)"', response.headers["Content-Disposition"]).group(1)
    return response.get_data(as_text=True), name


def target_list(client, deciles, region=None) -> str:
    return download(client, "export-link", [("export-deciles", "value", deciles), ("prof-region", "value", region)])[0]


def customers(settings) -> int:
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        return con.execute("select count(*) from marts.customer_profitability").fetchall()[0][0]


def test_a_logged_out_visitor_gets_nothing(served):
    _, app, _ = served
    client = client_for(app, None)
    for path in ["/", "/profitability", "/_dash-layout", "/_dash-dependencies", "/assets/x.css",
                 "/export/target-list.csv?decile=10", "/export/segment-target-list.csv",
                 "/_dash-component-suites/dash/deps/react@18.3.1.min.js"]:
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 401, path
    response = client.get("/profitability", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/profitability"
    code, body = post_callback(client, ROUTE, [("url", "pathname", "/")])
    assert (code, body) == (401, None)
    assert sign_in(client, "ann", "wrong-password").status_code == 200
    assert client.get("/_dash-layout").status_code == 401
    assert sign_in(client, "nobody", "x").status_code == 200


def test_login_redirects_only_within_the_site(served):
    _, app, _ = served
    client = app.server.test_client()
    for target, expected in [("/quality", "/quality"), ("https://evil.example/", "/"), ("//evil.example", "/")]:
        response = sign_in(client, "ann", "ann-password", target)
        assert response.headers["Location"] == expected


def test_a_sign_in_without_this_sessions_csrf_token_is_refused(served):
    _, app, _ = served
    for token in ("", "forged-token"):
        client = app.server.test_client()
        response = sign_in(client, "ann", "ann-password", token=token)
        assert response.status_code == 400 and "did not come from this site" in response.get_data(as_text=True)
        assert client.get("/_dash-layout").status_code == 401
    # A token from another session (another visitor's form) does not sign this one in either.
    other = app.server.test_client().get("/login").get_data(as_text=True)
    stolen = re.search(r'name="csrf_token" value="([^"]+)"', other).group(1)
    client = app.server.test_client()
    assert sign_in(client, "ann", "ann-password", token=stolen).status_code == 400
    no_form = app.server.test_client().post("/login", data={"username": "ann", "password": "ann-password"})
    assert no_form.status_code == 400
    assert sign_in(client, "ann", "ann-password").status_code == 302  # with the form's own token
    assert client.get("/_dash-layout").status_code == 200


def test_every_page_renders_with_and_without_personal_data(clients):
    for user in ["ann", "sam"]:
        client = clients[user]
        for path in PAGES:
            text = page(client, path)
            assert "Not built yet:" not in text and "Nothing published" not in text, (user, path)
        code, body = post_callback(client, ROUTE, [("url", "pathname", "/")])
        assert body["response"]["whoami"]["children"].startswith(f"{user} (")


def test_pages_name_what_is_not_built_yet(tmp_path):
    """Before the models ran: each page names what it lacks instead of failing."""
    settings = build_serving(tmp_path, models=False)
    add_user(users_path(settings.home), "eve", "executive", "eve-password")
    client = client_for(create_app(settings, "n" * 32, users_path(settings.home)), "eve")
    assert "Total CLV" in page(client, "/") and "needs the published customer_clv table" in page(client, "/")
    assert "needs the published customer_segments table" in page(client, "/segments")
    response = client.get("/export/segment-target-list.csv?tier=Gold")  # a link kept from before
    assert response.status_code == 409 and b"Segments are not published" in response.data
    assert "needs the published model_metrics table" in page(client, "/pipeline")
    assert page(client, "/maturity").count("needs the published maturity tables") == 5
    campaigns = page(client, "/campaigns")
    assert campaigns.count("not computed yet") == 2 and "Not built yet" not in campaigns
    assert "camp-missing-campaign_lift" in campaigns and "camp-missing-policy_comparison" in campaigns
    assert "camp-performance" in campaigns  # past campaigns need no model: by profit decile, tiers empty
    _, body = post_callback(client, [("camp-performance", "figure"), ("camp-performance-tables", "children")],
                            [("camp-dimension", "value", "profit_decile")])
    assert body["response"]["camp-performance"]["figure"]["data"][0]["x"] == [str(d) for d in range(1, 11)]


def test_executive_measures_are_the_published_numbers(clients):
    text = page(clients["eve"], "/")
    # 20 customers, revenue sum(2000 - 20 i) = 35,800, cost to serve sum(20 i) = 4,200, profit 9,000.
    for label, value in [("Revenue", "35,800"), ("Cost of service", "4,200"), ("Profit", "9,000"),
                         ("Customers", "20"), ("Active customers", "16"), ("Efficiency", "0.117"),
                         ("Customer satisfaction", "3.00 / 5"), ("Customers losing money", "25.0%")]:
        assert re.search(rf'"{re.escape(label)}".*?"{re.escape(value)}"', text), label
    assert "data through 2025-03-31" in text


def test_region_filter_changes_the_deciles(clients):
    client = clients["ann"]
    _, everyone = post_callback(client, DECILE_OUTPUTS, [("prof-region", "value", None)])
    _, london = post_callback(client, DECILE_OUTPUTS, [("prof-region", "value", "London")])
    all_profit = everyone["response"]["prof-deciles"]["figure"]["data"][0]["y"]
    london_profit = london["response"]["prof-deciles"]["figure"]["data"][0]["y"]
    assert all_profit == [2700.0, 2300.0, 1900.0, 1500.0, 1100.0, 700.0, 300.0, -100.0, -500.0, -900.0]
    assert london_profit == [1400.0, 1200.0, 1000.0, 800.0, 600.0, 400.0, 200.0, 0.0, -200.0, -400.0]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_strings_in_every_filter_leave_the_data_intact(served, clients, evil):
    settings, _, _ = served
    before = customers(settings)
    client = clients["ann"]
    code, body = post_callback(client, DECILE_OUTPUTS, [("prof-region", "value", evil)])
    assert code == 200 and body["response"]["prof-deciles"]["figure"]["data"] == []  # no such region
    code, body = post_callback(client, [("shift-figure", "figure"), ("shift-summary", "children")],
                               [("shift-share", "value", 0.5), ("shift-deciles", "value", [10])],
                               [("prof-region", "value", evil)])
    assert code == 200 and body["response"]["shift-summary"]["children"] == "no customers to shift"
    assert target_list(client, [1, 10], evil).strip().count("\n") == 0  # header only
    code, body = post_callback(client, [("dq-issues", "children")], [("dq-source", "value", evil)])
    assert code == 200 and "sentinel_value" not in json.dumps(body)
    code, body = post_callback(client, [("lookup-result", "children")],
                               [("lookup-go", "n_clicks", 1), ("lookup-input", "value", evil)])
    assert "No customer with key or source id" in json.dumps(body)
    assert customers(settings) == before == 20


def test_the_export_link_follows_the_filters_and_its_route_reads_only_what_it_expects(clients):
    client = clients["ann"]
    _, body = post_callback(client, [("export-link", "href")],
                            [("export-deciles", "value", [9, 10]), ("prof-region", "value", "North West")])
    assert body["response"]["export-link"]["href"] == "/export/target-list.csv?decile=9&decile=10&region=North+West"
    london = target_list(client, [10], "London").splitlines()
    assert [row[:5] for row in london[1:]] == ['"K19"']  # decile 10 is K19, K20; London the odd keys
    # Typed by hand: a decile that is not a whole number is ignored, unknown parameters too.
    response = client.get("/export/target-list.csv?decile=10;drop&decile=x&decile=10&region=London&sort=email")
    assert response.status_code == 200 and response.get_data(as_text=True).splitlines() == london
    assert client.get("/export/target-list.csv").get_data(as_text=True).strip().count("\n") == 0  # no decile
    _, body = post_callback(client, [("seg-export-link", "href")], segment_filters(tier=["Gold", "Iron"], decile=[1]))
    assert body["response"]["seg-export-link"]["href"] == (
        "/export/segment-target-list.csv?tier=Gold&tier=Iron&decile=1")


def test_what_if_sliders_change_the_figure(clients):
    client = clients["ann"]
    outputs = [("shift-figure", "figure"), ("shift-summary", "children")]
    _, none = post_callback(client, outputs, [("shift-share", "value", 0.0), ("shift-deciles", "value", [10])],
                            [("prof-region", "value", None)])
    _, half = post_callback(client, outputs, [("shift-share", "value", 0.5), ("shift-deciles", "value", [10])],
                            [("prof-region", "value", None)])
    before = none["response"]["shift-figure"]["figure"]["data"]
    after = half["response"]["shift-figure"]["figure"]["data"]
    assert before[0]["y"] == before[1]["y"]  # nothing moved: profit unchanged
    # Decile 10 (K19, K20): 19.5 of its 39 assisted contacts moved at 1050 / 40 = 26.25 per self-service
    # contact (511.875) save half of its 585 assisted cost (292.50): profit -900 - 219.375, in cents.
    assert after[1]["y"][-1] == -1119.38
    assert after[1]["y"][:9] == before[1]["y"][:9]
    assert "moves 20 contacts" in half["response"]["shift-summary"]["children"]


def test_analysts_see_customer_keys_and_stewards_see_personal_data(served, clients):
    lookup = [("lookup-result", "children")], [("lookup-go", "n_clicks", 1), ("lookup-input", "value", "X02")]
    seen = {}
    for user in ["ann", "eve", "sam", "ada"]:
        client = clients[user]
        csv = target_list(client, [10])
        _, found = post_callback(client, *lookup)
        text = json.dumps(found)
        assert csv.splitlines()[1].startswith('"K19",10,')  # Arrow CSV: strings quoted
        assert "Customer K02" in text and "bank" in text and "digital" in text
        seen[user] = (bool(EMAIL.search(csv)), "last_name" in csv, bool(EMAIL.search(text)), "Person02" in text)
    assert seen == {"ann": (False,) * 4, "eve": (False,) * 4, "sam": (True,) * 4, "ada": (True,) * 4}
    # Every target-list export is in the audit log, with who, the rows and whether it held personal data.
    exports = read_events(served[0]).query("action == 'export' and page == '/profitability'").tail(4)
    assert exports["user_name"].tolist() == ["ann", "eve", "sam", "ada"]
    assert [json.loads(d) for d in exports["detail"]][2] == {"deciles": [10], "personal_data": True, "region": None,
                                                             "rows": 2}


def test_a_removed_user_is_signed_out(served):
    settings, app, users = served
    add_user(users, "tmp", "admin", "tmp-password")
    client = client_for(app, "tmp")
    assert client.get("/_dash-layout").status_code == 200
    add_user(users, "tmp", "analyst", "tmp-password")  # demoted: the session follows at once
    _, body = post_callback(client, [("lookup-result", "children")],
                            [("lookup-go", "n_clicks", 1), ("lookup-input", "value", "K01")])
    assert not EMAIL.search(json.dumps(body))
    remove_user(users, "tmp")
    assert client.get("/_dash-layout").status_code == 401


def test_users_are_stored_hashed_and_checked(tmp_path):
    path = tmp_path / "users.json"
    assert add_user(path, "kim", "steward", "long enough")
    assert not add_user(path, "kim", "analyst", "longer still")
    stored = path.read_text()
    assert "longer still" not in stored and "scrypt" in stored
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert authenticate(path, "kim", "longer still") == "analyst"
    assert authenticate(path, "kim", "long enough") is None
    assert authenticate(path, "nobody", "long enough") is None
    for name, role, password, message in [("bad name", "admin", "long enough", "user name"),
                                          ("kim", "root", "long enough", "role"),
                                          ("kim", "admin", "short", "at least 8")]:
        with pytest.raises(UserError, match=message):
            add_user(path, name, role, password)
    path.write_text("{not json")
    with pytest.raises(UserError, match="line 1, column 2"):
        load_users(path)


def test_crmw_users_and_report_commands(served, monkeypatch, capsys):
    settings, _, _ = served
    monkeypatch.setenv("CRMW_HOME", str(settings.home))
    monkeypatch.delenv("CRMW_CONFIG", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("from-stdin-pw\n"))
    assert main(["users", "add", "lee", "--role", "executive"]) == 0
    assert authenticate(users_path(settings.home), "lee", "from-stdin-pw") == "executive"
    assert main(["users", "list"]) == 0
    assert "lee\texecutive" in capsys.readouterr().out
    assert main(["report"]) == 0
    path = next(settings.reports_dir.glob("executive-pack-*.html"))
    text = path.read_text(encoding="utf-8")
    assert "35,800" in text and "Whale curve" in text and text.count("<script") >= 2
    assert not re.search(r"<script[^>]*\bsrc=", text)  # plotly.js embedded: opens offline
    assert "not built yet" in text  # CLV
    assert "<p id='maturity-overall'>Overall: stage 3 of 5, Partly developed CRM" in text


def test_report_pack_needs_a_published_database(tmp_path):
    from orchestration.settings import load_settings

    with pytest.raises(FileNotFoundError, match="nothing published yet"):
        write_report(load_settings(tmp_path))


def test_tables_built_later_show_up_once_published(tmp_path):
    """CLV and model metrics tables from other models: the pages read them when they are published."""
    settings = build_serving(tmp_path, "create table marts.customer_clv as select 'K01' as customer_key, 120.5 as clv "
                                       "union all select 'K02', 30.25; "
                                       "create table marts.model_metrics as select 'bgnbd' as model, 0.79 as mae")
    data = ServingData(settings)
    assert data.find("customer_clv") == "marts.customer_clv" and data.clv_total() == 150.75
    assert data.model_metrics().to_dict("records") == [{"model": "bgnbd", "mae": 0.79}]
    users = users_path(settings.home)
    add_user(users, "eve", "executive", "eve-password")
    client = client_for(create_app(settings, "t" * 32, users), "eve")
    assert "Total CLV" in page(client, "/") and "151" in page(client, "/")
    assert "needs the published model_metrics table" not in page(client, "/pipeline")


SEGMENT_SQL = """
    create table marts.customer_segments as
    select 'K01' as customer_key, date '2025-12-31' as as_of_date, 'Platinum' as value_tier;
    create table marts.segment_profiles as select * from (values
        ('value_tier', 'Platinum', 2, 0.1, 900.0, 0.75, 450.0, 2800.0, 0.2, 1400.0, 0.0, 0.25, 2.5),
        ('value_tier', 'Lead', 18, 0.9, 300.0, 0.25, 16.7, 11200.0, 0.8, 622.2, 0.0, 0.5, 1.5),
        ('rfm_segment', 'Can''t Lose Them', 20, 1.0, 1200.0, 1.0, 60.0, 14000.0, 1.0, 700.0, 0.0, 0.4, 2.0),
        ('treatment', 'win back', 20, 1.0, 1200.0, 1.0, 60.0, 14000.0, 1.0, 700.0, 0.0, 0.4, 2.0))
        t(segment_type, segment, customers, customer_share, clv_total, clv_share, clv_mean, profit_total,
          profit_share, profit_mean, unprofitable_share, assisted_interaction_share, products_held_mean);
"""


def test_segments_page_shows_published_segment_profiles(tmp_path):
    settings = build_serving(tmp_path, SEGMENT_SQL, models=False)
    add_user(users_path(settings.home), "ann", "analyst", "ann-password")
    client = client_for(create_app(settings, "s" * 32, users_path(settings.home)), "ann")
    text = page(client, "/segments")
    assert "needs the published segment_profiles table" not in text
    assert all(name in text for name in ("seg-value_tier", "seg-rfm_segment", "seg-treatment"))
    # largest CLV first, shares as percentages
    assert text.index("Platinum") < text.index("Lead") and "75.0%" in text and "Can't Lose Them" in text
    assert ServingData(settings).segment_profiles("no such type").empty


SEGMENT_OUTPUTS = [("seg-summary", "children"), ("seg-sizes", "figure"), ("seg-clv-hist", "figure"),
                   ("seg-clv-box", "figure")]
SEGMENT_FILTERS = ["tier", "behaviour", "rfm", "decile", "region", "product", "channel"]


def segment_filters(**chosen) -> list[tuple[str, str, object]]:
    return [(f"seg-f-{key}", "value", chosen.get(key)) for key in SEGMENT_FILTERS]


def selected(client, **chosen) -> tuple[str, list]:
    """The summary line and the customers per tier the Segments filters give."""
    code, body = post_callback(client, SEGMENT_OUTPUTS, segment_filters(**chosen))
    assert code == 200
    sizes = body["response"]["seg-sizes"]["figure"]["data"]
    return body["response"]["seg-summary"]["children"], (
        [list(pair) for pair in zip(sizes[0]["x"], sizes[0]["y"], strict=True)] if sizes else [])


def test_segment_filters_select_the_customers_they_name(clients):
    client = clients["ann"]
    text = page(client, "/segments")
    assert all(f"seg-f-{key}" in text for key in SEGMENT_FILTERS) and "20 customers selected" in text
    assert selected(client) == ("20 customers selected; total CLV 21,000, trailing 12-month profit 9,000.",
                                [["Platinum", 4.0], ["Gold", 6.0], ["Iron", 6.0], ["Lead", 4.0]])
    assert selected(client, tier=["Platinum"])[1] == [["Platinum", 4.0]]
    assert selected(client, decile=[1, 10])[1] == [["Platinum", 2.0], ["Lead", 2.0]]
    assert selected(client, product=["credit_card"], tier=["Platinum"])[1] == [["Platinum", 2.0]]  # K02, K04
    assert selected(client, product=["mortgage"])[1] == []  # K01's mortgage is closed
    # K20 used the branch only before the window: branch users are K01-K10.
    assert selected(client, channel=["branch"])[1] == [["Platinum", 4.0], ["Gold", 6.0]]
    # Digital (K11-K20), London (odd), Champions (i divisible by 3): K15 alone.
    assert selected(client, behaviour=["Digital"], region=["London"], rfm=["Champions"])[1] == [["Iron", 1.0]]
    summary, sizes = selected(client, rfm=["no such segment"])
    assert summary == "No customer matches these filters." and sizes == []


def test_clv_distribution_follows_the_filters(clients):
    _, body = post_callback(clients["ann"], SEGMENT_OUTPUTS, segment_filters(tier=["Lead"]))
    histogram = body["response"]["seg-clv-hist"]["figure"]["data"]
    box = body["response"]["seg-clv-box"]["figure"]["data"]
    assert [t["name"] for t in histogram] == ["Lead"] and sum(histogram[0]["y"]) == 4
    # Lead: CLV 400, 300, 200, 100; quantiles by linear interpolation.
    assert (box[0]["q1"], box[0]["median"], box[0]["q3"]) == ([175.0], [250.0], [325.0])
    assert (box[0]["lowerfence"], box[0]["upperfence"]) == ([115.0], [385.0])


def test_segment_export_is_a_target_list_without_personal_data_for_analysts_and_is_audited(served, clients):

    settings, _, _ = served
    rows = {}
    for user in ("ann", "eve", "sam"):
        content, name = download(clients[user], "seg-export-link",
                                 segment_filters(tier=["Platinum", "Gold"], product=["credit_card"]))
        assert name.startswith("segment-target-list-") and name.endswith(".csv")
        rows[user] = content.splitlines()
    # Arrow's CSV writer (ServingData.csv): strings quoted, numbers as their shortest form.
    assert rows["ann"] == rows["eve"] == [
        '"customer_key","value_tier","rfm_segment","behaviour_segment","treatment","clv","profit_decile"',
        '"K02","Platinum","Hibernating","Branch loyal","retain",1900,1',
        '"K04","Platinum","At Risk","Branch loyal","retain",1700,2',
        '"K06","Gold","Champions","Branch loyal","grow",1500,3',
        '"K08","Gold","Hibernating","Branch loyal","grow",1300,4',
        '"K10","Gold","At Risk","Branch loyal","grow",1100,5',
    ]
    assert not any(EMAIL.search(r) for r in rows["ann"] + rows["eve"])
    assert "email" in rows["sam"][0] and "person02@example.com" in rows["sam"][1]
    exports = read_events(settings).query("action == 'export' and page == '/segments'")
    assert exports["user_name"].tolist()[-3:] == ["ann", "eve", "sam"]
    detail = json.loads(exports["detail"].iloc[-3])
    # The same export again: answered afresh (downloads are never kept), and audited again.
    download(clients["ann"], "seg-export-link", segment_filters(tier=["Platinum", "Gold"], product=["credit_card"]))
    assert read_events(settings).query("action == 'export' and page == '/segments'")["user_name"].tolist()[-4:] == [
        "ann", "eve", "sam", "ann"]
    assert detail == {"rows": 5, "filters": {"tier": ["Platinum", "Gold"], "product": ["credit_card"]},
                      "personal_data": False}


@pytest.mark.parametrize("evil", INJECTIONS[:3])
def test_injection_strings_in_the_segment_and_campaign_filters_leave_the_data_intact(served, clients, evil):
    settings, _, _ = served
    client = clients["ann"]
    for key in SEGMENT_FILTERS:
        summary, sizes = selected(client, **{key: [evil]})
        assert sizes == [] and summary == "No customer matches these filters.", key
    content, _ = download(client, "seg-export-link", segment_filters(region=evil, decile=[evil]))
    assert content.strip().count("\n") == 0  # header only
    code, body = post_callback(client, [("camp-performance", "figure"), ("camp-performance-tables", "children")],
                               [("camp-dimension", "value", evil)])  # not on the allow-list: value tiers
    assert code == 200 and body["response"]["camp-performance"]["figure"]["data"][0]["x"][0] == "Platinum"
    assert customers(settings) == 20
    assert selected(client)[0].startswith("20 customers selected")


def test_campaigns_page_shows_past_campaigns_by_segment_and_the_targeting_tables(clients):
    client = clients["eve"]
    text = page(client, "/campaigns")
    assert "not computed yet" not in text
    assert all(i in text for i in ("camp-gains", "camp-lift", "camp-policies", "camp-by-campaign"))
    assert "Targeted (expected value)" in text and "Random 1 in 12" in text
    outputs = [("camp-performance", "figure"), ("camp-performance-tables", "children")]
    _, body = post_callback(client, outputs, [("camp-dimension", "value", "value_tier")])
    contacted, control = body["response"]["camp-performance"]["figure"]["data"]
    assert contacted["x"] == ["Platinum", "Gold", "Iron", "Lead"]
    assert contacted["y"] == [0.5, 1 / 6, 0.25, 0.25] and contacted["customdata"] == [4.0, 6.0, 4.0, 4.0]
    assert control["y"][2] == 0.5 and all(v is None for i, v in enumerate(control["y"]) if i != 2)
    tables = json.dumps(body["response"]["camp-performance-tables"]["children"])
    assert "Spring offer" in tables and "Summer offer" in tables
    _, body = post_callback(client, outputs, [("camp-dimension", "value", "treatment")])
    assert body["response"]["camp-performance"]["figure"]["data"][0]["x"] == ["grow", "reduce cost", "retain"]


def test_pipeline_page_shows_last_runs_and_the_failures_the_refresh_recorded(served, clients, monkeypatch):
    import datetime as dt

    from dashboards import runs
    from dashboards.pages import pipeline
    from orchestration.status import FailureRecord, record_failures

    settings, _, _ = served
    client = clients["eve"]
    assert "No failed run, step or check recorded." in page(client, "/pipeline")
    record_failures(settings, "run-0001", [FailureRecord("check", "assert_profit_is_revenue_minus_costs", "3 rows"),
                                           FailureRecord("step", "dbt_build", "1 test failed")],
                    range_start="2025-03-01", range_end="2025-03-31")
    history = pipeline.run_history(ServingData(settings))
    history.wait()
    text = page(client, "/pipeline")
    assert "1 failed check(s) among the 2 latest failures" in text and "assert_profit_is_revenue_minus_costs" in text
    assert "No refresh has run in this CRMW_HOME yet." in text  # no Dagster instance in this home
    started = dt.datetime(2025, 4, 1, 2, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(runs, "recent_runs", lambda settings, limit: [
        {"run_id": "abcdef0123456789", "status": "SUCCESS", "range": ("2025-03-01", "2025-03-31"),
         "trigger": "schedule", "started": started, "seconds": 930.0}])
    history.read_at = 0.0  # stale: the next view asks for a new read, and shows the old one meanwhile
    page(client, "/pipeline")
    history.wait()
    text = page(client, "/pipeline")
    assert all(v in text for v in ("abcdef01", "SUCCESS", "schedule", "2025-04-01 02:00 UTC", "15.5",
                                   "2025-03-01 .. 2025-03-31"))
    monkeypatch.setattr(runs, "recent_runs", lambda settings, limit: 1 / 0)
    history.read_at = 0.0
    page(client, "/pipeline")
    history.wait()
    assert "abcdef01" in page(client, "/pipeline")  # a failed read keeps the last history


def test_the_call_after_a_publish_reads_the_new_file_and_warming_prepares_it(tmp_path):
    import time

    from orchestration.publish import publish

    settings = build_serving(tmp_path)
    data = ServingData(settings, warm=True)
    first = data.version()  # opens the version and starts warming it in the background
    deadline = time.monotonic() + 60
    while not first.prepared.get("campaign_base") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.prepared.get("segment_base") and first.prepared.get("segment_products")
    assert data.segment_summary()["customers"].sum() == 20
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("delete from marts.customer_segments where value_tier = 'Lead'")
    publish(settings, "run-2")
    assert data.segment_summary()["customers"].sum() == 16 and data.version() is not first
    assert data.last_publish()["run_id"].tolist() == ["run-2"]
    data.close()


def test_repeated_callbacks_are_answered_from_the_version_cache_and_pipeline_is_not(served, clients, monkeypatch):
    """Callback answers and page layouts are kept per published version; the route and Pipeline run each time."""
    from dashboards.pages import segments

    calls = []
    real = segments.selection_outputs
    monkeypatch.setattr(segments, "selection_outputs", lambda *a: calls.append(a) or real(*a))
    client = clients["ada"]
    first = post_callback(client, SEGMENT_OUTPUTS, segment_filters(rfm=["At Risk"], region=["London"]))
    again = post_callback(client, SEGMENT_OUTPUTS, segment_filters(rfm=["At Risk"], region=["London"]))
    assert first == again and len(calls) == 1  # same version, role and request: kept
    post_callback(clients["sam"], SEGMENT_OUTPUTS, segment_filters(rfm=["At Risk"], region=["London"]))
    assert len(calls) == 2  # another user: computed for them
    # The page route runs at every view (what it records per view is recorded); the layout is kept per role.
    from dashboards import app as app_module
    from dashboards.pages import campaigns

    routed, layouts = [], []
    real_render, real_layout = app_module.render_page, campaigns.layout
    monkeypatch.setattr(app_module, "render_page", lambda *a: routed.append(a[0]) or real_render(*a))
    monkeypatch.setattr(campaigns, "layout", lambda *a: layouts.append(a) or real_layout(*a))
    assert page(client, "/campaigns") == page(client, "/campaigns")
    assert len(routed) == 2 and len(layouts) <= 1  # kept since an earlier test, or built once here
    _, app, users = served
    post_callback(client, ROUTE, [("url", "pathname", "/")])  # ada (admin) first
    add_user(users, "al", "admin", "al-password")
    _, body = post_callback(client_for(app, "al"), ROUTE, [("url", "pathname", "/")])
    assert body["response"]["whoami"]["children"] == "al (admin)"  # not ada's cached header
    assert "assert_cache_check" not in page(client, "/pipeline")
    from orchestration.status import FailureRecord, record_failures

    record_failures(served[0], "run-cache", [FailureRecord("check", "assert_cache_check", "x")])
    assert "assert_cache_check" in page(client, "/pipeline")  # the Pipeline page is never kept
