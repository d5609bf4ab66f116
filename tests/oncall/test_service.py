"""Schedules and overrides through the service functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from tests.factories.catalog import SYSTEM
from watchkeeper.audit.models import AuditEvent
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate
from watchkeeper.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from watchkeeper.oncall import service as oncall
from watchkeeper.oncall.schemas import Layer, OverrideCreate, ScheduleCreate

UTC = dt.timezone.utc


def _people(session, *handles):
    for h in handles:
        teams.create_person(session, data=PersonCreate(handle=h), actor=SYSTEM)


def _schedule(name="payments-primary", team="payments", members=("ann", "ben")) -> ScheduleCreate:
    return ScheduleCreate(name=name, team=team, timezone="Europe/Berlin", layers=[
        Layer(name="weekly", members=list(members), shift_unit="weeks", handoff_weekday="mon", handoff_time=dt.time(9),
              start=dt.date(2026, 11, 2)),
    ])


@pytest.fixture
def setup(session, personas):
    _people(session, "ann", "ben", "cat")
    session.commit()
    return personas


def _audits(session, action):
    return [e for e in session.query(AuditEvent).order_by(AuditEvent.id) if e.action == action]


def test_create_read_timeline_and_who(session, setup):
    alice = setup["alice"].actor
    oncall.create_schedule(session, data=_schedule(), actor=alice)
    session.commit()
    tl = oncall.schedule_timeline(session, name="payments-primary", start=dt.datetime(2026, 12, 7, tzinfo=UTC),
                                  end=dt.datetime(2026, 12, 21, tzinfo=UTC), actor=alice)
    # 2 Nov is hand-off 0 (ann); 7 Dec 09:00 CET is hand-off 5 (ben), 14 Dec hand-off 6 (ann)
    assert [(s.start.isoformat(), s.person) for s in tl.segments] == [
        ("2026-12-07T00:00:00+00:00", "ann"), ("2026-12-07T08:00:00+00:00", "ben"),
        ("2026-12-14T08:00:00+00:00", "ann"),
    ]
    [now] = oncall.on_call(session, actor=alice, at=dt.datetime(2026, 12, 8, tzinfo=UTC))
    assert (now.person, now.source, now.until) == ("ben", "layer:weekly", dt.datetime(2026, 12, 14, 8, tzinfo=UTC))
    [event] = _audits(session, "oncall.schedule.create")
    assert event.actor == "alice" and event.target == "schedule:payments-primary"


def test_an_override_wins_is_audited_and_can_be_removed(session, setup):
    alice = setup["alice"].actor
    oncall.create_schedule(session, data=_schedule(), actor=alice)
    o = oncall.add_override(session, data=OverrideCreate(
        schedule="payments-primary", person="cat", start=dt.datetime(2026, 12, 8, 12, tzinfo=UTC),
        end=dt.datetime(2026, 12, 8, 18, tzinfo=UTC), reason="ben at the dentist"), actor=alice)
    session.commit()
    [now] = oncall.on_call(session, actor=alice, schedule="payments-primary", at=dt.datetime(2026, 12, 8, 13, tzinfo=UTC))
    assert (now.person, now.source, now.until) == ("cat", f"override:{o.id}", dt.datetime(2026, 12, 8, 18, tzinfo=UTC))
    [event] = _audits(session, "oncall.override.create")
    assert event.actor == "alice" and event.after["person"] == "cat"
    oncall.remove_override(session, schedule="payments-primary", override_id=o.id, actor=alice)
    session.commit()
    [now] = oncall.on_call(session, actor=alice, schedule="payments-primary", at=dt.datetime(2026, 12, 8, 13, tzinfo=UTC))
    assert now.person == "ben"
    assert len(_audits(session, "oncall.override.delete")) == 1


def test_update_and_delete_are_audited(session, setup):
    root = setup["root"].actor
    oncall.create_schedule(session, data=_schedule(), actor=root)
    oncall.update_schedule(session, data=_schedule(members=("ben", "ann", "cat")), actor=root)
    oncall.delete_schedule(session, name="payments-primary", actor=root)
    session.commit()
    [update] = _audits(session, "oncall.schedule.update")
    assert update.after == {"layers": [dict(update.after["layers"][0], members=["ben", "ann", "cat"])]}
    assert len(_audits(session, "oncall.schedule.delete")) == 1
    with pytest.raises(NotFound, match="no on-call schedule named 'payments-primary'"):
        oncall.get_schedule(session, name="payments-primary", actor=root)


def test_permissions_and_scope(session, setup):
    alice, bob, carol, root = (setup[p].actor for p in ("alice", "bob", "carol", "root"))
    oncall.create_schedule(session, data=_schedule(), actor=alice)
    oncall.create_schedule(session, data=_schedule(name="search-primary", team="search"), actor=root)
    session.commit()
    with pytest.raises(PermissionDenied, match="alice may not oncall.manage for team 'search'"):
        oncall.create_schedule(session, data=_schedule(name="other", team="search"), actor=alice)
    with pytest.raises(PermissionDenied):  # a responder reads but does not manage or override
        oncall.update_schedule(session, data=_schedule(), actor=bob)
    with pytest.raises(PermissionDenied):
        oncall.add_override(session, data=OverrideCreate(schedule="payments-primary", person="cat",
                                                         start=dt.datetime(2026, 12, 8, tzinfo=UTC),
                                                         end=dt.datetime(2026, 12, 9, tzinfo=UTC)), actor=bob)
    with pytest.raises(PermissionDenied):
        oncall.get_schedule(session, name="payments-primary", actor=carol)
    assert [s.name for s in oncall.list_schedules(session, actor=bob)] == ["payments-primary"]
    assert [s.name for s in oncall.list_schedules(session, actor=root)] == ["payments-primary", "search-primary"]
    assert [w.schedule for w in oncall.on_call(session, actor=bob)] == ["payments-primary"]
    with pytest.raises(PermissionDenied, match="carol may not oncall.read"):
        oncall.list_schedules(session, actor=carol)


def test_bad_input_is_one_line(session, setup):
    alice = setup["alice"].actor
    with pytest.raises(InvalidInput, match="no person with handle 'zed'"):
        oncall.create_schedule(session, data=_schedule(members=("ann", "zed")), actor=alice)
    oncall.create_schedule(session, data=_schedule(), actor=alice)
    with pytest.raises(Conflict, match="already exists"):
        oncall.create_schedule(session, data=_schedule(), actor=alice)
    with pytest.raises(InvalidInput, match="at most 92 days"):
        oncall.schedule_timeline(session, name="payments-primary", start=dt.datetime(2026, 1, 1, tzinfo=UTC),
                                 end=dt.datetime(2026, 6, 1, tzinfo=UTC), actor=alice)
    with pytest.raises(InvalidInput, match="zone offset"):
        oncall.schedule_timeline(session, name="payments-primary", start=dt.datetime(2026, 1, 1),
                                 end=dt.datetime(2026, 1, 2), actor=alice)
    for bad, message in [
        ({"handoff_weekday": "mon", "shift_unit": "days"}, "handoff_weekday applies to weekly rotations only"),
        ({"members": []}, "at least 1 item"),
        ({"members": ["x"] * 51}, "at most 50 items"),
        ({"shift_length": 0}, "greater than or equal to 1"),
        ({"restrictions": [{"days": ["funday"]}]}, "Input should be"),
    ]:
        with pytest.raises(ValidationError, match=message) as caught:
            Layer.model_validate({"name": "l", "members": ["ann"], "start": "2026-01-01", **bad})
        assert len(caught.value.errors()) == 1
    with pytest.raises(ValidationError, match="end must be after its start"):
        OverrideCreate(schedule="s", person="ann", start=dt.datetime(2026, 1, 2, tzinfo=UTC), end=dt.datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="unique"):
        ScheduleCreate(name="s", team="t", layers=[Layer(name="a", members=["x"], start=dt.date(2026, 1, 1))] * 2)
