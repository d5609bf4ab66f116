"""The change calendar (issue 16 item 6): deploys, freezes, windows, maintenance, on-call
hand-offs and drills in one view, conflicts flagged, and an iCal feed the icalendar library parses."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from tests.factories.auth import SYSTEM, make_persona
from tests.factories.catalog import make_service
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate
from watchkeeper.deploys import calendar, freezes
from watchkeeper.deploys.calendar import PlannedDeploy
from watchkeeper.deploys.schemas import FreezeCreate
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, tzinfo=UTC)
END = dt.datetime(2026, 3, 9, tzinfo=UTC)


def _world(session) -> None:
    from watchkeeper.maintenance import service as maintenance
    from watchkeeper.maintenance.schemas import WindowCreate
    from watchkeeper.oncall import service as oncall
    from watchkeeper.oncall.schemas import ScheduleCreate

    make_service(session, name="shop", team="payments")
    make_service(session, name="find", team="search")
    for handle in ("ann", "ben"):
        teams.create_person(session, data=PersonCreate(handle=handle), actor=SYSTEM)
    freezes.create_freeze(session, data=FreezeCreate.model_validate(
        {"name": "weekend", "cron": "0 16 * * 5", "timezone": "Europe/Berlin", "duration": "64h"}), actor=SYSTEM)
    freezes.create_freeze(session, data=FreezeCreate.model_validate(
        {"name": "business-hours", "kind": "window", "service": "shop", "cron": "0 9 * * 1-5", "timezone": "America/New_York",
         "duration": "8h"}), actor=SYSTEM)
    oncall.create_schedule(session, data=ScheduleCreate(name="payments-primary", team="payments", layers=[
        {"name": "daily", "members": ["ann", "ben"], "shift_unit": "days", "start": "2026-03-01"}]), actor=SYSTEM)
    maintenance.create_window(session, data=WindowCreate(name="db-upgrade", service="shop", duration="2h",
                                                         starts_at=dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC)), actor=SYSTEM)


def _plan(session, version: str, at: dt.datetime, service: str = "shop"):
    return calendar.plan_deploy(session, data=PlannedDeploy(service=service, version=version, at=at), actor=SYSTEM)


def test_conflicts_are_flagged(session, frozen_clock):
    _world(session)
    in_freeze = _plan(session, "2.0.0", dt.datetime(2026, 3, 7, 10, 0, tzinfo=UTC))      # Saturday
    at_night = _plan(session, "2.0.1", dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC))        # 22:00 in New York
    fine = _plan(session, "2.0.2", dt.datetime(2026, 3, 4, 15, 0, tzinfo=UTC))           # 10:00 in New York, Wednesday
    cal = calendar.change_calendar(session, actor=SYSTEM, start=START, end=END)
    kinds = {e.kind for e in cal.entries}
    assert {"planned_deploy", "freeze", "window", "maintenance", "handoff"} <= kinds
    found = {(c.kind, tuple(c.refs)) for c in cal.conflicts}
    weekends = [e.ref for e in cal.entries if e.kind == "freeze"]
    # the freeze of the weekend before still runs at the start of the range (until Monday 08:00 Berlin)
    assert weekends == ["freeze:weekend@2026-02-27T15:00:00+00:00", "freeze:weekend@2026-03-06T15:00:00+00:00"]
    weekend = weekends[1]
    assert ("deploy_in_freeze", (f"deploy:{in_freeze.id}", weekend)) in found
    assert ("deploy_outside_window", (f"deploy:{at_night.id}",)) in found
    assert not any(f"deploy:{fine.id}" in c.refs for c in cal.conflicts)
    handoff = "handoff:payments-primary@2026-03-03T09:00:00+00:00"
    assert ("maintenance_during_handoff", ("maintenance:db-upgrade@2026-03-03T08:00:00+00:00", handoff)) in found
    assert len(cal.conflicts) == 4  # the Saturday deploy is also outside the weekday windows
    assert {c.kind for c in cal.conflicts if f"deploy:{in_freeze.id}" in c.refs} == {"deploy_in_freeze", "deploy_outside_window"}
    message = next(c.message for c in cal.conflicts if c.kind == "maintenance_during_handoff")
    assert message == ("Maintenance db-upgrade (shop) spans On-call hand-off payments-primary: ben → ann at 2026-03-03 09:00 UTC")


def test_the_ical_feed_parses_and_marks_conflicts(session, client, frozen_clock):
    _world(session)
    planned = _plan(session, "2.0.0", dt.datetime(2026, 3, 7, 10, 0, tzinfo=UTC))
    alice = make_persona(session, "alice", ["operator@team:payments"])
    session.commit()
    response = client.get("/api/v1/deploys/calendar.ics", headers=alice.headers,
                          params={"start": START.isoformat(), "end": END.isoformat()})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(response.content)
    events = {str(ev["uid"]): ev for ev in parsed.walk("VEVENT")}
    deploy = events[f"deploy:{planned.id}@watchkeeper"]
    assert str(deploy["summary"]) == "⚠ shop 2.0.0 (planned)"
    assert "inside change freeze weekend" in str(deploy["description"])
    assert deploy.decoded("dtstart") == dt.datetime(2026, 3, 7, 10, 0, tzinfo=UTC)
    assert str(deploy["url"]).endswith(f"/deploys/{planned.id}")
    weekend = [ev for uid, ev in events.items() if uid.startswith("freeze:weekend@")]
    assert len(weekend) == 2 and weekend[0].decoded("dtend") - weekend[0].decoded("dtstart") == dt.timedelta(hours=64)
    assert any(uid.startswith("handoff:payments-primary@") for uid in events)
    as_json = client.get("/api/v1/deploys/calendar", headers=alice.headers, params={"start": START.isoformat(), "end": END.isoformat()})
    assert len(as_json.json()["entries"]) == len(events)


def test_the_calendar_is_filtered_by_scope(session, personas, frozen_clock):
    _world(session)
    _plan(session, "1.0.0", dt.datetime(2026, 3, 4, 15, 0, tzinfo=UTC), service="find")
    mine = _plan(session, "2.0.0", dt.datetime(2026, 3, 4, 15, 0, tzinfo=UTC))
    cal = calendar.change_calendar(session, actor=personas["alice"].actor, start=START, end=END)
    deploys = [e.ref for e in cal.entries if e.kind == "planned_deploy"]
    assert deploys == [f"deploy:{mine.id}"]
    with pytest.raises(PermissionDenied):
        calendar.change_calendar(session, actor=personas["carol"].actor, start=START, end=END)
    with pytest.raises(PermissionDenied):
        _plan_as = calendar.plan_deploy(session, data=PlannedDeploy(service="find", version="1", at=START), actor=personas["alice"].actor)
        assert _plan_as is None


def test_bad_ranges_and_plans(session, frozen_clock):
    make_service(session, name="shop", team="payments")
    with pytest.raises(InvalidInput, match="at most 92 days"):
        calendar.change_calendar(session, actor=SYSTEM, start=START, end=START + dt.timedelta(days=93))
    with pytest.raises(InvalidInput, match="end must be after"):
        calendar.change_calendar(session, actor=SYSTEM, start=END, end=START)
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs a time zone"):
        PlannedDeploy(service="shop", version="1", at=dt.datetime(2026, 3, 3))
    planned = _plan(session, "3.0.0", dt.datetime(2026, 3, 5, tzinfo=UTC))
    from watchkeeper.deploys import service as deploys
    from watchkeeper.deploys.schemas import DeployFinish

    with pytest.raises(Conflict, match="only planned"):
        deploys.finish_deploy(session, deploy_id=planned.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
    assert deploys.finish_deploy(session, deploy_id=planned.id, data=DeployFinish(outcome="aborted"), actor=SYSTEM).status == "aborted"
