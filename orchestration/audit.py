"""The audit log: who looked at which page and who exported which customers, and when.

One SQLite table, `$CRMW_HOME/status/audit_log.sqlite`, so that the dashboards (several worker
processes) and the CLI can append at the same time without touching the warehouse or the published
serving database, which the dashboards may only read. Usage monitoring and export audits read it back.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from orchestration.settings import Settings

ACTIONS = ("page_view", "export")

_SCHEMA = """
create table if not exists audit_events (
    event_time  text not null,   -- UTC, ISO 8601 with seconds
    user_name   text not null,
    role        text not null,
    action      text not null check (action in ('page_view', 'export')),
    page        text not null,   -- dashboard path, or the CLI command for CLI exports
    detail      text not null    -- JSON: what was exported (file, rows, filters), empty object otherwise
)
"""


# Audit logs this process has already created: every dashboard page view writes a row, and the folder and
# table need making only once.
_READY: set[Path] = set()


@contextmanager
def _audit_db(settings: Settings) -> Iterator[sqlite3.Connection]:
    path = settings.audit_log_path
    ready = path in _READY and path.exists()
    if not ready:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    try:
        if not ready:
            con.execute(_SCHEMA)
            _READY.add(path)
        yield con
        con.commit()
    finally:
        con.close()


def record_event(
    settings: Settings,
    *,
    user: str,
    role: str,
    action: str,
    page: str,
    detail: dict | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one audit row. `detail` must be JSON-serialisable (it names what was exported)."""
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is not one of {', '.join(ACTIONS)}")
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with _audit_db(settings) as con:
        con.execute(
            "insert into audit_events values (?, ?, ?, ?, ?, ?)",
            (when.isoformat(timespec="seconds"), user, role, action, page, json.dumps(detail or {}, sort_keys=True)),
        )


def read_events(settings: Settings, since: dt.datetime | None = None) -> pd.DataFrame:
    """Audit rows (oldest first), optionally only those at or after `since`."""
    columns = ["event_time", "user_name", "role", "action", "page", "detail"]
    if not settings.audit_log_path.exists():
        return pd.DataFrame(columns=columns)
    query, params = "select * from audit_events", ()
    if since is not None:
        query += " where event_time >= ?"
        params = (since.astimezone(dt.UTC).isoformat(timespec="seconds"),)
    with _audit_db(settings) as con:
        frame = pd.read_sql_query(query + " order by event_time, rowid", con, params=params)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    return frame
