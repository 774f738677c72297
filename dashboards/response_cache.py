"""Answers of Dash callbacks kept per published file version, user and request.

What a callback answers depends only on the published database (which never changes once published: the next
publish renames a new file into place), the caller (role; the header shows the user's name) and the request
body, so a repeated request is answered from memory. Never kept: downloads (each export is recorded in the
audit log), the page route (it runs every time, so whatever it records per page view is recorded; page
layouts are kept one level down, dashboards.app.render_page), errors. The key includes the file's version,
so the request after a publish is computed afresh.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

import flask

from dashboards.data import ServingData

CALLBACK_PATH = "/_dash-update-component"
MAX_ENTRIES = 256


def _cacheable(body: bytes) -> bool:
    try:
        request = json.loads(body)
    except ValueError:
        return False
    if "download" in str(request.get("output", "")):
        return False
    return not any(i.get("property") == "pathname" for i in request.get("inputs", []) if isinstance(i, dict))


def install(server: flask.Flask, data: ServingData) -> None:
    """Register the cache on the server (after the login guard, so only signed-in requests reach it)."""
    entries: OrderedDict[tuple, bytes] = OrderedDict()
    lock = threading.Lock()

    def key() -> tuple | None:
        if flask.request.path != CALLBACK_PATH or flask.request.method != "POST":
            return None
        body = flask.request.get_data()
        if not _cacheable(body):
            return None
        try:
            version = data.version().key
        except FileNotFoundError:
            return None
        # The user too, not only the role: the page route answers with the user's name in the header.
        return version, flask.session.get("user"), flask.session.get("role"), hashlib.sha256(body).hexdigest()

    @server.before_request
    def _answer_from_cache():
        k = key()
        flask.g.response_cache_key = k
        if k is None:
            return None
        with lock:
            hit = entries.get(k)
            if hit is not None:
                entries.move_to_end(k)
        if hit is None:
            return None
        return flask.Response(hit, status=200, mimetype="application/json")

    @server.after_request
    def _keep(response: flask.Response):
        k = getattr(flask.g, "response_cache_key", None)
        if k is not None and response.status_code == 200 and not response.direct_passthrough:
            with lock:
                entries[k] = response.get_data()
                while len(entries) > MAX_ENTRIES:
                    entries.popitem(last=False)
            flask.g.response_cache_key = None
        return response
