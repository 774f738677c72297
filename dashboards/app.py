"""The Dash app: login in front of every page and callback, a page per audience, reading only the published
serving database (dashboards.data).

Authentication is a Flask `before_request` guard on the whole server, so nothing is served before login:
not the pages, not Dash's layout or callback endpoints, not its scripts. A visitor without a session gets
the login form (HTML requests) or 401 (anything else). Sessions are signed cookies keyed by the secret the
caller passes (`crmw serve` reads it from CRMW_SESSION_SECRET). The login form carries a per-session CSRF
token (set in the session when the form is served, compared on POST), so another site cannot post a sign-in
into a visitor's browser (login CSRF).
"""

from __future__ import annotations

import hmac
import html as html_escape
import logging
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import quote

import dash
import duckdb
import flask
from dash import Input, Output, dcc, html

from dashboards import response_cache
from dashboards.auth import authenticate, load_users
from dashboards.data import ServingData
from dashboards.pages import PAGES
from orchestration.audit import record_event
from orchestration.settings import Settings

LOG = logging.getLogger(__name__)

OPEN_PATHS = ("/login",)
LOGIN_FORM = """<!doctype html><html><head><meta charset="utf-8"><title>crm-warehouse: sign in</title>
<style>body{{font-family:sans-serif;max-width:22em;margin:6em auto}}input{{display:block;margin:.4em 0 1em;
width:100%}}.error{{color:#b00}}</style></head><body><h1>crm-warehouse</h1>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<input type="hidden" name="csrf_token" value="{csrf}">
<label>User<input name="username" id="username" autocomplete="username" autofocus></label>
<label>Password<input name="password" id="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="login">Sign in</button></form></body></html>"""

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#264653;color:#fff}
header a{color:#fff;text-decoration:none} header a:hover{text-decoration:underline}
header .user{margin-left:auto}
main{padding:0 1.2em 2em}
.kpis{display:flex;flex-wrap:wrap;gap:.8em}
.kpi{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:11em}
.kpi-label{font-size:.85em;color:#555}.kpi-value{font-size:1.5em;font-weight:600}
.kpi-note{font-size:.75em;color:#777}
.data-table{border-collapse:collapse;font-size:.85em}
.data-table td,.data-table th{border:1px solid #ddd;padding:2px 6px}
.not-built{background:#fff6e0;border:1px solid #f0d080;padding:.6em;border-radius:4px;margin:.4em 0}
.filter{max-width:24em;margin:.5em 0}
.table-wrap{overflow-x:auto}
a.button{display:inline-block;padding:.3em .8em;border:1px solid #888;border-radius:4px;background:#f4f4f4;
color:#222;text-decoration:none}
"""


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an absolute URL or `//host` in `next` would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


CSRF_FIELD = "csrf_token"
CSRF_REFUSED = ('<p class="error" id="login-error">The sign-in form expired or did not come from this site: '
                'please sign in again.</p>')


def csrf_token() -> str:
    """This session's login-form token, made on first use."""
    token = flask.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """Whether the POSTed form carries this session's token."""
    expected = flask.session.get("csrf")
    sent = flask.request.form.get(CSRF_FIELD, "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def create_app(settings: Settings, secret_key: str, users_file: Path, data: ServingData | None = None) -> dash.Dash:
    if not secret_key or len(secret_key) < 16:
        raise ValueError("the session secret must be at least 16 characters")
    data = data or ServingData(settings)
    server = flask.Flask(__name__)
    server.config.update(SECRET_KEY=secret_key, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    @server.before_request
    def _require_login():
        path = flask.request.path
        if path in OPEN_PATHS:
            return None
        user = flask.session.get("user")
        if user is not None:
            # A user removed or given another role since logging in: their session follows the users file.
            record = load_users(users_file).get(user)
            if record is None:
                flask.session.clear()
            else:
                if flask.session.get("role") != record.get("role"):
                    flask.session["role"] = record.get("role")
                return None
        if flask.request.method == "GET" and flask.request.accept_mimetypes.accept_html \
                and not path.startswith("/_"):
            return flask.redirect(f"/login?next={quote(path)}")
        return flask.Response("login required", status=401, mimetype="text/plain")

    @server.route("/login", methods=["GET", "POST"])
    def login():
        error, status = "", 200
        target = _safe_next(flask.request.values.get("next"))
        if flask.request.method == "POST" and not csrf_ok():
            error, status = CSRF_REFUSED, 400
        elif flask.request.method == "POST":
            name = flask.request.form.get("username", "")
            role = authenticate(users_file, name, flask.request.form.get("password", ""))
            if role is not None:
                flask.session.clear()
                flask.session.update(user=name, role=role)
                return flask.redirect(target)
            error = '<p class="error" id="login-error">Wrong user name or password.</p>'
        form = LOGIN_FORM.format(error=error, next=html_escape.escape(target, quote=True),
                                 csrf=html_escape.escape(csrf_token(), quote=True))
        return form, status

    @server.route("/logout")
    def logout():
        flask.session.clear()
        return flask.redirect("/login")

    response_cache.install(server, data)
    app = dash.Dash(__name__, server=server, title="crm-warehouse", suppress_callback_exceptions=True,
                    update_title=None)
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + STYLE + "</style>")
    nav = [dcc.Link(page.TITLE, href=page.PATH, id=f"nav-{page.__name__.rsplit('.', 1)[1]}") for page in PAGES]
    app.layout = html.Div([
        dcc.Location(id="url"),
        html.Header([html.Strong("crm-warehouse"), *nav, html.Span(id="whoami", className="user"),
                     html.A("Sign out", href="/logout", id="logout")]),
        html.Main(id="page"),
    ])
    by_path = {page.PATH: page for page in PAGES}

    @app.callback(Output("page", "children"), Output("whoami", "children"), Input("url", "pathname"))
    @data.scoped
    def _route(pathname):
        role = flask.session.get("role")
        who = f"{flask.session.get('user')} ({role})"
        page = by_path.get(pathname or "/")
        if page is None:
            return html.P(f"No page at {pathname}."), who
        record_view(data.settings, flask.session.get("user"), role, page.PATH)
        return render_page(page, data, role), who

    for page in PAGES:
        page.register(app, data)
    return app


def record_view(settings: Settings, user: str | None, role: str | None, path: str) -> None:
    """Usage monitoring: one audit row per page view (this route runs at every view; layouts are kept one
    level down). A view is shown even when the audit log cannot be written; the failure is logged."""
    try:
        record_event(settings, user=user or "?", role=role or "?", action="page_view", page=path)
    except sqlite3.Error as exc:
        LOG.warning("page view of %s by %s not recorded in the audit log: %s", path, user, exc)


def render_page(page, data: ServingData, role: str | None):
    """A page's layout (kept per published version and role unless the page says KEEP_LAYOUT = False), or why
    there is nothing to show yet."""
    try:
        if not getattr(page, "KEEP_LAYOUT", True):
            return page.layout(data, role)
        return data.keep(("layout", page.PATH, role), lambda: page.layout(data, role))
    except FileNotFoundError as exc:
        return html.Div([html.H2(page.TITLE), html.P(f"Nothing published yet: {exc}. Run `crmw refresh`.")])
    except duckdb.CatalogException as exc:
        return html.Div([html.H2(page.TITLE), html.P(f"Not built yet: {str(exc).splitlines()[0]}")])
