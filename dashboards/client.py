"""Drive Dash callbacks over HTTP as the browser does: for tests and the latency benchmark."""

from __future__ import annotations

import json
import re

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def callback_payload(outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]],
                     state: list[tuple[str, str, object]] = ()) -> dict:
    """The JSON body Dash's renderer posts to /_dash-update-component."""
    def output_id(i: str, p: str) -> str:
        return f"{i}.{p}"

    output = (".." + "...".join(output_id(i, p) for i, p in outputs) + "..") if len(outputs) > 1 \
        else output_id(*outputs[0])
    return {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in outputs] if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }


def post_callback(client, outputs, inputs, state=()):
    """POST one callback with a Flask test client; returns (status code, parsed response or None)."""
    response = client.post("/_dash-update-component", data=json.dumps(callback_payload(outputs, inputs, state)),
                           content_type="application/json")
    body = response.get_data(as_text=True)
    return response.status_code, (json.loads(body) if response.status_code == 200 and body else None)


def sign_in(client, user: str, password: str, next_path: str = "/", token: str | None = None):
    """Sign in with a Flask test client as the browser does: fetch the form (and its CSRF token), post it.
    `token` overrides the form's token (tests of a forged or missing one: pass "")."""
    form = client.get("/login").get_data(as_text=True)
    found = CSRF_INPUT.search(form)
    data = {"username": user, "password": password, "next": next_path,
            "csrf_token": found.group(1) if token is None and found else (token or "")}
    return client.post("/login", data=data)
