"""Escalation execution through the alert pipeline (issue 12 items 3-5), in process on SQLite
and PostgreSQL with a frozen clock: a routed alert group starts an escalation, levels are paged
by email (real aiosmtpd) at their timeouts, acknowledging the alert stops it, resolving ends
it, a re-fire starts a new one; manual escalate/reassign; round robin and team targets."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from tests.factories.alerting import alert, configure, email_receiver, ingest
from tests.factories.catalog import SYSTEM, make_service
from watchkeeper import clock, events
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import AlertGroup
from watchkeeper.app import Container
from watchkeeper.audit.models import AuditEvent
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import ContactMethod, PersonCreate, TeamUpdate
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from watchkeeper.notify.models import Outbox
from watchkeeper.oncall import escalation, policies
from watchkeeper.oncall import service as oncall
from watchkeeper.oncall.models import Escalation
from watchkeeper.oncall.schemas import EscalationLevel, EscalationTarget, Layer, PolicyCreate, ScheduleCreate

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.timezone.utc)  # Monday: ann's week on "pay"


@pytest.fixture
def paging(session, personas, container, smtp_server, settings):
    """People ann, ben (schedule "pay", weekly), cat (level 2), dan (team payments); policy
    pay-policy for checkout: level 1 schedule pay 5m, level 2 cat 10m, repeated once; alerts
    of checkout route to `service-default`. Returns a worker whose SMTP is the test server."""
    from watchkeeper import app as composition

    clock.set_frozen(NOW)
    for handle in ("ann", "ben", "cat", "dan"):
        teams.create_person(session, data=PersonCreate(handle=handle, email=f"{handle}@example.com"), actor=SYSTEM)
    make_service(session, name="checkout")
    make_service(session, name="search-api", team="search")
    oncall.create_schedule(session, data=ScheduleCreate(name="pay", team="payments", layers=[
        Layer(name="weekly", members=["ann", "ben"], shift_unit="weeks", handoff_weekday="mon", start=dt.date(2026, 12, 7))]),
        actor=SYSTEM)
    policies.create_policy(session, data=PolicyCreate(name="pay-policy", team="payments", services=["checkout"], repeat=1, levels=[
        EscalationLevel(targets=[EscalationTarget(kind="schedule", name="pay")], timeout="5m"),
        EscalationLevel(targets=[EscalationTarget(kind="person", name="cat")], timeout="10m")]), actor=SYSTEM)
    configure(session, receivers=[email_receiver("ops", smtp_server.port)],
              route={"receiver": "ops", "group_by": ["alertname"], "group_wait": "30s", "group_interval": "1m",
                     "repeat_interval": "4h", "routes": [{"matchers": ['service="checkout"'], "receiver": "service-default"}]})
    session.commit()
    smtp_settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port})
    worker = composition.worker(Container(settings=smtp_settings, engine=container.engine,
                                          session_factory=container.session_factory))
    yield worker
    clock.set_frozen(None)


def _to(smtp) -> list[str]:
    return [str(m["To"]) for m in smtp.messages]


def _escalations(session) -> list[Escalation]:
    session.expire_all()
    return list(session.execute(select(Escalation).order_by(Escalation.id)).scalars())


def test_levels_are_paged_at_their_timeouts_until_the_alert_is_acknowledged(session, paging, smtp_server, personas):
    worker = paging
    seen: list[events.ServiceActivity] = []
    events.subscribe(events.ServiceActivity, lambda _s, e: seen.append(e), name="test.escalation.seen")
    try:
        ingest(session, alert(service="checkout"))
        session.commit()
        worker.run_once()
        assert smtp_server.messages == [] and _escalations(session) == []  # inside group_wait
        clock.advance(dt.timedelta(seconds=31))
        worker.run_once()
        assert _to(smtp_server) == ["ann@example.com"]  # level 1: who is on call on "pay" now
        page = smtp_server.messages[0]
        assert str(page["Subject"]) == "[PAGE] HighErrorRate firing on checkout: HighErrorRate is happening"
        body = page.get_body(preferencelist=("plain",)).get_content()
        assert "level 1 of escalation policy 'pay-policy'" in body and "/ack/" in body
        clock.advance(dt.timedelta(minutes=4, seconds=59))
        worker.run_once()
        assert len(smtp_server.messages) == 1  # level 1's timeout has not passed
        clock.advance(dt.timedelta(seconds=2))
        worker.run_once()
        assert _to(smtp_server) == ["ann@example.com", "cat@example.com"]
        clock.advance(dt.timedelta(minutes=10, seconds=1))
        worker.run_once()  # the repeat: level 1 again
        assert _to(smtp_server)[-1] == "ann@example.com" and len(smtp_server.messages) == 3
        (row,) = _escalations(session)
        assert (row.status, row.level, row.loop) == ("active", 1, 1)
        group = session.execute(select(AlertGroup)).scalar_one()
        alerting.acknowledge(session, group_id=group.id, actor=personas["bob"].actor, note="on it")
        session.commit()
        for _ in range(3):
            clock.advance(dt.timedelta(minutes=30))
            worker.run_once()
        assert len(smtp_server.messages) == 3, "an acknowledged escalation paged again"
        (row,) = _escalations(session)
        assert row.status == "acknowledged" and row.acked_by == "bob"
        read = escalation.get_escalation(session, escalation_id=row.id, actor=personas["bob"].actor)
        assert [(e.kind, e.level, e.loop, e.people) for e in read.events] == [
            ("started", None, None, []), ("notified", 1, 0, ["ann"]), ("notified", 2, 0, ["cat"]),
            ("notified", 1, 1, ["ann"]), ("acknowledged", 1, 1, [])]
        keys = sorted(session.execute(select(Outbox.idempotency_key).where(Outbox.ref == f"escalation:{row.id}")).scalars())
        assert keys == [f"oncall:e{row.id}:l0:r0:ann:email0", f"oncall:e{row.id}:l0:r1:ann:email0",
                        f"oncall:e{row.id}:l1:r0:cat:email0"]
        actions = Counter(a for a in session.execute(select(AuditEvent.action)).scalars() if a.startswith("oncall.escalation"))
        assert actions == {"oncall.escalation.start": 1, "oncall.escalation.ack": 1}
        kinds = [e.kind for e in seen]
        assert kinds == ["oncall.notified"] * 3 + ["oncall.acknowledged"] and seen[0].services == ("checkout",)
    finally:
        events.unsubscribe(events.ServiceActivity, "test.escalation.seen")


def test_resolving_ends_the_escalation_and_a_refire_starts_a_new_one(session, paging, smtp_server):
    worker = paging
    ingest(session, alert(service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    assert _to(smtp_server) == ["ann@example.com"]
    ingest(session, alert(service="checkout", status="resolved"))
    session.commit()
    (first,) = _escalations(session)
    assert first.status == "resolved" and first.open_ref is None  # at once, not at the next flush
    clock.advance(dt.timedelta(minutes=20))
    worker.run_once()
    assert len(smtp_server.messages) == 1, "a resolved escalation paged"
    clock.advance(dt.timedelta(minutes=1))
    ingest(session, alert(service="checkout"))  # the same alert fires again
    session.commit()
    clock.advance(dt.timedelta(minutes=1, seconds=1))
    worker.run_once()
    rows = _escalations(session)
    assert [r.status for r in rows] == ["resolved", "active"]
    assert _to(smtp_server) == ["ann@example.com", "ann@example.com"]


def test_a_missing_policy_is_reported_on_the_group_and_pages_nobody(session, paging, smtp_server):
    worker = paging
    configure(session, receivers=[email_receiver("ops", smtp_server.port)],
              route={"receiver": "ops", "group_wait": "30s", "routes": [
                  {"matchers": ['service="search-api"'], "receiver": "service-default"},
                  {"matchers": ['service="checkout"'], "receiver": "policy:nope"}]})
    ingest(session, alert(service="search-api"), alert("Other", service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    session.expire_all()
    errors = sorted(g.last_error for g in session.execute(select(AlertGroup)).scalars())
    assert errors == ["receiver policy:nope: no escalation policy named 'nope' (oncall.policies)",
                      "receiver service-default: service 'search-api' has no escalation policy; "
                      "list it under an oncall.policies[].services"]
    assert smtp_server.messages == [] and _escalations(session) == []
    explained = alerting.explain_route(session, labels={"alertname": "X", "service": "checkout"}, actor=SYSTEM)
    assert [(r["receiver"], r["channels"]) for r in explained.routes] == [("policy:nope", [])]
    configure(session, receivers=[email_receiver("ops", smtp_server.port)],
              route={"receiver": "ops", "routes": [{"matchers": ['service="checkout"'], "receiver": "service-default"}]})
    explained = alerting.explain_route(session, labels={"alertname": "X", "service": "checkout"}, actor=SYSTEM)
    assert [(r["receiver"], r["channels"]) for r in explained.routes] == [("service-default", ["escalation policy pay-policy"])]
    with pytest.raises(ValueError, match="not a policy reference"):
        configure(session, receivers=[email_receiver("ops", smtp_server.port)],
                  route={"receiver": "ops", "routes": [{"receiver": "policy:Bad Name"}]})
    with pytest.raises(ValueError, match="'service-default' is reserved"):
        configure(session, receivers=[email_receiver("service-default", smtp_server.port)], route={"receiver": "service-default"})


def test_manual_escalate_and_reassign_are_checked_and_audited(session, paging, smtp_server, personas):
    worker = paging
    ingest(session, alert(service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    (row,) = _escalations(session)
    with pytest.raises(PermissionDenied):
        escalation.escalate(session, escalation_id=row.id, actor=personas["carol"].actor)
    session.rollback()
    read = escalation.escalate(session, escalation_id=row.id, actor=personas["bob"].actor)
    assert read.next_level == 2 and read.next_step_at == clock.utcnow()
    session.commit()
    worker.run_once()
    assert _to(smtp_server) == ["ann@example.com", "cat@example.com"]  # level 2 now, not in 5 minutes
    escalation.reassign(session, escalation_id=row.id, person="dan", actor=personas["bob"].actor)
    session.commit()
    worker.run_once()
    assert _to(smtp_server)[-1] == "dan@example.com"
    clock.advance(dt.timedelta(minutes=9))
    worker.run_once()
    assert len(smtp_server.messages) == 3  # dan has level 2's 10 minutes
    clock.advance(dt.timedelta(minutes=1, seconds=1))
    worker.run_once()
    assert _to(smtp_server)[-1] == "ann@example.com"  # then the policy carries on: the repeat's level 1
    alerting.acknowledge(session, alert_ids=[a.id for a in alerting.list_alerts(
        session, filter=alerting.AlertFilter(), actor=personas["bob"].actor)], actor=personas["bob"].actor)
    session.commit()
    with pytest.raises(Conflict, match="only an active escalation"):
        escalation.escalate(session, escalation_id=row.id, actor=personas["bob"].actor)
    with pytest.raises(InvalidInput, match="no person with handle 'zed'"):
        escalation.reassign(session, escalation_id=row.id, person="zed", actor=personas["bob"].actor)
    session.rollback()
    actions = [a for a in session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars()
               if a.startswith("oncall.escalation")]
    assert actions == ["oncall.escalation.start", "oncall.escalation.escalate", "oncall.escalation.reassign",
                       "oncall.escalation.ack"]
    assert [e.id for e in escalation.list_escalations(session, actor=personas["bob"].actor, status="open")] == [row.id]
    with pytest.raises(PermissionDenied):
        escalation.list_escalations(session, actor=personas["carol"].actor)


def test_round_robin_rotates_and_team_targets_page_every_member(session, paging, smtp_server):
    worker = paging
    teams.update_team(session, name="payments", data=TeamUpdate(members=["ben", "dan"]), actor=SYSTEM)
    teams.update_person(session, handle="dan", data=__import__("watchkeeper.catalog.schemas", fromlist=["PersonUpdate"])
                        .PersonUpdate(contact_methods=[ContactMethod(kind="email", address="dan.pager@example.com")]),
                        actor=SYSTEM)
    policies.update_policy(session, data=PolicyCreate(name="pay-policy", team="payments", services=["checkout"], repeat=1, levels=[
        EscalationLevel(targets=[EscalationTarget(kind="person", name="ann"), EscalationTarget(kind="person", name="cat")],
                        timeout="5m", mode="round_robin"),
        EscalationLevel(targets=[EscalationTarget(kind="team", name="payments")], timeout="5m")]), actor=SYSTEM)
    session.commit()
    for name in ("A", "B"):
        ingest(session, alert(name, service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    assert sorted(_to(smtp_server)) == ["ann@example.com", "cat@example.com"]  # one each: the rotation moved on
    del smtp_server.messages[:]
    clock.advance(dt.timedelta(minutes=5, seconds=1))
    worker.run_once()
    assert Counter(_to(smtp_server)) == {"ben@example.com": 2, "dan@example.com": 2, "dan.pager@example.com": 2}


def test_response_targets_flag_a_late_ack_on_the_alert_and_the_report_gives_mtta_and_mttr(session, paging, smtp_server, personas):
    from watchkeeper.oncall.schemas import ResponseTarget

    worker = paging
    current = policies.get_policy(session, name="pay-policy", actor=SYSTEM)
    policies.update_policy(session, data=policies.as_create(current).model_copy(update={"response_targets": [
        ResponseTarget(severity="critical", ack="2m", resolve="10m"), ResponseTarget(ack="1h")]}), actor=SYSTEM)
    ingest(session, alert(service="checkout", severity="critical"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    (row,) = _escalations(session)
    assert (row.severity, row.ack_target_s, row.resolve_target_s) == ("critical", 120, 600)
    clock.advance(dt.timedelta(minutes=2, seconds=1))
    worker.run_once()
    read = escalation.get_escalation(session, escalation_id=row.id, actor=personas["bob"].actor)
    assert read.ack_breached and not read.resolve_breached
    (a,) = alerting.list_alerts(session, filter=alerting.AlertFilter(), actor=personas["bob"].actor)
    missed = [e for e in alerting.history(session, alert_id=a.id, actor=personas["bob"].actor) if e.kind == "response_target_missed"]
    assert len(missed) == 1 and missed[0].detail["target"] == "ack" and "not acknowledged within 120 s" in missed[0].detail["message"]
    clock.advance(dt.timedelta(minutes=1))
    alerting.acknowledge(session, alert_ids=[a.id], actor=personas["bob"].actor)
    clock.advance(dt.timedelta(minutes=2))
    alerting.resolve(session, alert_ids=[a.id], actor=personas["bob"].actor)
    session.commit()
    clock.advance(dt.timedelta(minutes=10))
    worker.run_once()  # the resolve target's check: resolved in time
    read = escalation.get_escalation(session, escalation_id=row.id, actor=personas["bob"].actor)
    assert read.ack_breached and not read.resolve_breached and read.status == "resolved"
    assert [e.kind for e in read.events].count("ack_breached") == 1
    by_service = escalation.response_report(session, actor=personas["bob"].actor, by="service")
    assert [(r.key, r.escalations, r.mtta_s, r.mttr_s, r.ack_breaches, r.resolve_breaches) for r in by_service] == [
        ("checkout", 1, 181.0, 301.0, 1, 0)]
    assert [(r.key, r.acknowledged) for r in escalation.response_report(session, actor=personas["bob"].actor, by="person")] == [("bob", 1)]
    assert [r.key for r in escalation.response_report(session, actor=personas["bob"].actor, by="team")] == ["payments"]
    with pytest.raises(InvalidInput, match="by is one of"):
        escalation.response_report(session, actor=personas["bob"].actor, by="planet")
    with pytest.raises(ValueError, match="listed twice"):
        PolicyCreate(name="x", team="payments", levels=current.levels,
                     response_targets=[ResponseTarget(ack="1m"), ResponseTarget(ack="2m")])


def test_a_person_with_a_webhook_contact_method_gets_the_page_as_json_and_the_unreachable_are_skipped(session, paging, smtp_server):
    from tests.fakes.webhook import Recorder

    worker = paging
    hook = Recorder()
    try:
        teams.create_person(session, data=PersonCreate(handle="eve", contact_methods=[
            ContactMethod(kind="webhook", address="http://bad host/x"),  # malformed: skipped, not fatal to the step
            ContactMethod(kind="webhook", address=hook.url), ContactMethod(kind="sms", address="+10000000")]), actor=SYSTEM)
        teams.create_person(session, data=PersonCreate(handle="nat"), actor=SYSTEM)  # no way to reach nat
        policies.update_policy(session, data=PolicyCreate(name="pay-policy", team="payments", services=["checkout"], levels=[
            EscalationLevel(targets=[EscalationTarget(kind="person", name="nat")], timeout="5m"),
            EscalationLevel(targets=[EscalationTarget(kind="person", name="eve")], timeout="5m")]), actor=SYSTEM)
        ingest(session, alert(service="checkout"))
        session.commit()
        clock.advance(dt.timedelta(seconds=31))
        worker.run_once()  # nat cannot be reached: level 2 is paged at once, not in 5 minutes
        assert smtp_server.messages == [] and len(hook.requests) == 1
        page = hook.requests[0]["json"]
        assert (page["kind"], page["level"], page["person"], page["service"]) == ("oncall.page", 2, "eve", "checkout")
        assert "/ack/" in page["ack_url"]
        (row,) = _escalations(session)
        history = escalation.get_escalation(session, escalation_id=row.id, actor=SYSTEM).events
        assert [(e.kind, e.level, e.people, (e.detail or {}).get("unreachable")) for e in history] == [
            ("started", None, [], None), ("notified", 1, [], ["nat"]), ("notified", 2, ["eve"], None), ("exhausted", None, [], None)]
    finally:
        hook.close()


def test_a_step_that_runs_twice_or_late_pages_once(session, paging, smtp_server, settings):
    """A step job run a second time (a lease that ran out under a stuck worker) or a timer left
    from before an acknowledgement finds another seq and writes nothing."""
    smtp = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port})
    started = escalation.start(session, ref="test:twice", policy="pay-policy", service="checkout", summary="twice")
    first = escalation.step(session, escalation_id=started.id, seq=0, settings=smtp)
    again = escalation.step(session, escalation_id=started.id, seq=0, settings=smtp)
    assert first["paged"] == ["ann"] and "stale timer" in again["skipped"]
    escalation.acknowledge_refs(session, refs=["test:twice"], actor=SYSTEM)
    late = escalation.step(session, escalation_id=started.id, seq=1, settings=smtp)
    assert late == {"skipped": "stale timer (status acknowledged, seq 2 != 1)"}
    keys = session.execute(select(Outbox.idempotency_key).where(Outbox.ref == f"escalation:{started.id}")).scalars().all()
    assert keys == [f"oncall:e{started.id}:l0:r0:ann:email0"]
