"""Target-list exports served as files from routes of their own, outside the Dash callbacks.

A page's export is a link whose address carries the chosen filters; a callback rewrites the address when a
filter changes (a few ms). The route (login required, like every path) runs the export, records it in the
audit log and answers with a CSV attachment. Returned by a callback instead, a 100,000-row list at 1M customers
took 655-806 ms at p95, ~240 ms of it (one profile) in encoding the text into Dash's JSON and decoding it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import flask


def href(path: str, params: Mapping[str, object]) -> str:
    """`path` with `params` as its query string: a list gives the key once per value; None and "" are left out."""
    pairs = [(key, str(value)) for key, values in params.items()
             for value in (values if isinstance(values, list | tuple) else [values]) if value not in (None, "")]
    return f"{path}?{urlencode(pairs)}" if pairs else path


def attachment(content: bytes, filename: str) -> flask.Response:
    """A CSV download: never cached (each export is audited; the data may be personal)."""
    return flask.Response(content, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
