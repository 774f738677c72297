"""The audit log appends rows and reads them back in order; bad actions are refused."""

import datetime as dt

import pytest

from orchestration.audit import read_events, record_event
from orchestration.settings import load_settings


def test_audit_round_trip(tmp_path):
    settings = load_settings(tmp_path)
    assert read_events(settings).empty
    t0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    record_event(settings, user="ann", role="analyst", action="page_view", page="/segments", at=t0)
    record_event(
        settings, user="bob", role="admin", action="export", page="/segments",
        detail={"rows": 12, "file": "targets.csv"}, at=t0 + dt.timedelta(hours=1),
    )
    events = read_events(settings)
    assert list(events["user_name"]) == ["ann", "bob"]
    assert list(events["action"]) == ["page_view", "export"]
    assert events.loc[1, "detail"] == '{"file": "targets.csv", "rows": 12}'
    later = read_events(settings, since=t0 + dt.timedelta(minutes=30))
    assert list(later["user_name"]) == ["bob"]


def test_audit_refuses_unknown_action(tmp_path):
    settings = load_settings(tmp_path)
    with pytest.raises(ValueError, match="audit action 'delete'"):
        record_event(settings, user="ann", role="analyst", action="delete", page="/")
    assert read_events(settings).empty
