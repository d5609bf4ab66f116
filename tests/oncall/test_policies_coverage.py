"""Escalation policies and the coverage analysis / readiness evidence, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from tests.factories.catalog import SYSTEM, make_service
from watchkeeper import clock
from watchkeeper.audit.models import AuditEvent
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate, SupportHours
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from watchkeeper.evidence import Status
from watchkeeper.oncall import coverage, evidence, policies
from watchkeeper.oncall import service as oncall
from watchkeeper.oncall.schemas import Layer, EscalationLevel, OverrideCreate, PolicyCreate, Restriction, ScheduleCreate, EscalationTarget

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def world(session, personas):
    clock.set_frozen(NOW)
    for handle, email in (("ann", "ann@example.com"), ("ben", "ben@example.com"), ("cat", None)):
        teams.create_person(session, data=PersonCreate(handle=handle, email=email), actor=SYSTEM)
    make_service(session, name="checkout", support_hours=SupportHours(kind="business", timezone="Europe/Berlin"))
    make_service(session, name="search-api", team="search")
    session.commit()
    yield personas
    clock.set_frozen(None)


def _schedule(members=("ann", "ben"), restrictions=()):
    return ScheduleCreate(name="pay", team="payments", timezone="Europe/Berlin", layers=[
        Layer(name="weekly", members=list(members), shift_unit="weeks", handoff_weekday="mon", start=dt.date(2026, 11, 2),
              restrictions=list(restrictions))])


def _policy(services=("checkout",), targets=(("schedule", "pay"),), name="pay-policy", team="payments"):
    return PolicyCreate(name=name, team=team, services=list(services), repeat=1, levels=[
        EscalationLevel(targets=[EscalationTarget(kind=k, name=n) for k, n in targets], timeout="10m"),
        EscalationLevel(targets=[EscalationTarget(kind="person", name="cat")], timeout="30m")])


def test_policy_crud_is_audited_and_permission_checked(session, world):
    alice, bob = world["alice"].actor, world["bob"].actor
    oncall.create_schedule(session, data=_schedule(), actor=alice)
    read = policies.create_policy(session, data=_policy(), actor=alice)
    assert read.levels[0].timeout == dt.timedelta(minutes=10) and read.repeat == 1
    policies.update_policy(session, data=_policy(targets=(("schedule", "pay"), ("person", "ann"))), actor=alice)
    session.commit()
    with pytest.raises(PermissionDenied):
        policies.update_policy(session, data=_policy(), actor=bob)
    with pytest.raises(PermissionDenied):  # alice operates payments, not search
        policies.create_policy(session, data=_policy(services=("search-api",), name="x"), actor=alice)
    assert [p.name for p in policies.list_policies(session, actor=bob)] == ["pay-policy"]
    with pytest.raises(Conflict, match="service 'checkout' already uses escalation policy 'pay-policy'"):
        policies.create_policy(session, data=_policy(name="second"), actor=world["root"].actor)
    with pytest.raises(InvalidInput, match="no on-call schedule named 'nope'"):
        policies.create_policy(session, data=_policy(name="third", services=(), targets=(("schedule", "nope"),)), actor=alice)
    with pytest.raises(InvalidInput, match="no service named 'ghost'"):
        policies.create_policy(session, data=_policy(name="fourth", services=("ghost",)), actor=world["root"].actor)
    policies.delete_policy(session, name="pay-policy", actor=alice)
    session.commit()
    actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id) if e.action.startswith("oncall.policy")]
    assert actions == ["oncall.policy.create", "oncall.policy.update", "oncall.policy.delete"]
    with pytest.raises(ValidationError, match="between 1s and 24h"):
        EscalationLevel(targets=[EscalationTarget(kind="person", name="ann")], timeout="2d")
    with pytest.raises(ValidationError, match="listed twice"):
        _policy(services=("a", "a"))


def test_a_covered_service_with_two_people_passes(session, world):
    oncall.create_schedule(session, data=_schedule(), actor=SYSTEM)
    policies.create_policy(session, data=_policy(), actor=SYSTEM)
    session.commit()
    [report] = coverage.coverage(session, actor=world["alice"].actor, service="checkout")
    assert (report.status, report.gaps, report.people, report.bus_factor) == ("pass", [], ["ann", "ben"], 2)
    ev = evidence.oncall_coverage(session, _svc(session, "checkout"))
    assert ev.status is Status.PASS and "with 2 people" in ev.reason


def _svc(session, name):
    from watchkeeper.catalog import service as catalog
    return catalog.lookup_service(session, name=name)


def test_one_person_rotation_warns_with_bus_factor_1(session, world):
    oncall.create_schedule(session, data=_schedule(members=("ann",)), actor=SYSTEM)
    policies.create_policy(session, data=_policy(), actor=SYSTEM)
    session.commit()
    ev = evidence.oncall_coverage(session, _svc(session, "checkout"))
    assert ev.status is Status.WARN and "bus factor 1" in ev.reason and "only ann" in ev.reason


def test_a_gap_fails_with_the_first_gap_time_and_contactless_people_count_as_gaps(session, world):
    # the rotation is restricted to 10:00-17:00 but support hours start at 09:00 Berlin (08:00 UTC)
    oncall.create_schedule(session, data=_schedule(restrictions=[Restriction(start=dt.time(10), end=dt.time(17))]), actor=SYSTEM)
    policies.create_policy(session, data=_policy(), actor=SYSTEM)
    session.commit()
    ev = evidence.oncall_coverage(session, _svc(session, "checkout"))
    assert ev.status is Status.FAIL
    assert "uncovered from 2026-12-07 08:00 UTC (nobody is on call)" in ev.reason and "10 gap(s) in the next 14 days" in ev.reason
    assert ev.details["first_gap"] == "2026-12-07T08:00:00+00:00"
    # cat (no contact method) covers Tuesday: that is a gap too, named
    oncall.add_override(session, data=OverrideCreate(schedule="pay", person="cat", start=dt.datetime(2026, 12, 8, 9, tzinfo=UTC),
                                                     end=dt.datetime(2026, 12, 8, 12, tzinfo=UTC)), actor=SYSTEM)
    [report] = coverage.coverage(session, actor=SYSTEM, service="checkout")
    kinds = [(g.start.isoformat(), g.end.isoformat(), g.kind, g.people) for g in report.gaps if g.kind == "no_contact"]
    assert kinds == [("2026-12-08T09:00:00+00:00", "2026-12-08T12:00:00+00:00", "no_contact", ["cat"])]
    assert report.contactless == ["cat"]


def test_no_policy_fails_and_no_policies_at_all_is_unknown(session, world):
    assert evidence.oncall_coverage(session, _svc(session, "checkout")).status is Status.UNKNOWN
    oncall.create_schedule(session, data=_schedule(), actor=SYSTEM)
    policies.create_policy(session, data=_policy(services=()), actor=SYSTEM)
    ev = evidence.oncall_coverage(session, _svc(session, "checkout"))
    assert ev.status is Status.FAIL and "has no escalation policy" in ev.reason


def test_coverage_lists_are_scope_filtered(session, world):
    oncall.create_schedule(session, data=_schedule(), actor=SYSTEM)
    policies.create_policy(session, data=_policy(), actor=SYSTEM)
    session.commit()
    assert [r.service for r in coverage.coverage(session, actor=world["bob"].actor)] == ["checkout"]
    assert sorted(r.service for r in coverage.coverage(session, actor=world["root"].actor)) == ["checkout", "search-api"]
    with pytest.raises(PermissionDenied):
        coverage.coverage(session, actor=world["bob"].actor, service="search-api")
    with pytest.raises(InvalidInput, match="days must be between 1 and 92"):
        coverage.coverage(session, actor=world["root"].actor, days=400)


def test_a_schedule_a_policy_pages_cannot_be_deleted(session, system_actor):
    """A policy naming a deleted schedule would page nobody: the delete is refused, naming the policy."""
    from watchkeeper.errors import Conflict
    from watchkeeper.oncall import policies
    from watchkeeper.oncall import service as schedules

    from tests.factories.catalog import make_service
    from tests.factories.world import policy_create, schedule_create
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import PersonCreate

    make_service(session, name="s", team="t")
    teams.create_person(session, data=PersonCreate(handle="p"), actor=system_actor)
    schedules.create_schedule(session, data=schedule_create("sch"), actor=system_actor)
    policies.create_policy(session, data=policy_create("pol"), actor=system_actor)
    with pytest.raises(Conflict, match="paged by escalation policy pol"):
        schedules.delete_schedule(session, name="sch", actor=system_actor)
    policies.delete_policy(session, name="pol", actor=system_actor)
    schedules.delete_schedule(session, name="sch", actor=system_actor)
    assert [s.name for s in schedules.list_schedules(session, actor=system_actor)] == []
