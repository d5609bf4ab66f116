"""Declare by hand, roles, notes, updates, merge, scope, the timeline port, paging, Markdown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories.alerting import configure, webhook_receiver
from tests.factories.auth import make_persona
from tests.factories.catalog import SYSTEM
from tests.incidents.conftest import declare
from watchkeeper import clock, events
from watchkeeper.audit.models import AuditEvent
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from watchkeeper.incidents import markdown
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    IncidentCreate,
    IncidentFilter,
    IncidentUpdate,
    NoteCreate,
    Role,
    RoleAssign,
    Status,
    StatusChange,
    StatusUpdate,
    Visibility,
)
from watchkeeper.notify.models import Outbox


def _audits(session, action):
    return [e for e in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars() if e.action == action]


def test_declare_by_hand_starts_investigating_commanded_by_the_declarer_and_is_audited(session, world):
    alice = world["alice"].actor
    inc = declare(session, alice, severity="SEV3", impact="Some **payments** fail", customer_facing=True)
    assert (inc.status, inc.commander, inc.acknowledged_by, inc.source, inc.team) == (
        Status.INVESTIGATING, "alice", "alice", "manual", "payments")
    detail = incidents.get_incident(session, incident_id=inc.id, actor=alice)
    assert [(e.kind, e.summary) for e in detail.timeline] == [
        ("declared", "Declared SEV3 by alice: Checkout errors"), ("role.assigned", "alice is commander")]
    [event] = _audits(session, "incident.declare")
    assert event.actor == "alice" and event.target == f"incident:{inc.id}" and event.after["services"] == ["checkout"]


def test_declare_is_refused_without_the_permission_on_every_service(session, world):
    with pytest.raises(PermissionDenied):
        declare(session, world["carol"].actor)
    with pytest.raises(PermissionDenied):  # bob responds for payments, not for search
        declare(session, world["bob"].actor, services=("checkout", "search"))
    assert incidents.list_incidents(session, filter=IncidentFilter(status="all"), actor=world["root"].actor) == []


def test_bad_input_is_one_line(session, world):
    alice = world["alice"].actor
    with pytest.raises(InvalidInput, match="^no service named 'nope'; `watchkeeper service list` shows them$"):
        declare(session, alice, services=("nope",))
    with pytest.raises(InvalidInput, match="^no person or user 'zed'"):
        declare(session, alice, commander="zed")
    with pytest.raises(ValueError, match="at most 200 characters"):
        IncidentCreate(title="x" * 201, services=["checkout"])


def test_a_paging_severity_declared_by_hand_pages_through_the_route(session, world):
    configure(session, receivers=[webhook_receiver("payments-pager", "http://127.0.0.1:9/")], route={"receiver": "payments-pager"})
    inc = declare(session, world["alice"].actor, severity="SEV1")
    [row] = session.execute(select(Outbox).where(Outbox.ref == f"incident:{inc.id}")).scalars()
    assert row.receiver == "payments-pager" and row.message["subject"] == f"[SEV1] Incident #{inc.id}: Checkout errors"
    paged = incidents.get_incident(session, incident_id=inc.id, actor=SYSTEM).timeline[-1]
    assert (paged.kind, paged.summary) == ("paged", "Paged payments-pager (declared)")
    # raising a SEV3 to SEV2 pages; SEV3 itself did not
    low = declare(session, world["alice"].actor, severity="SEV3", title="low")
    assert not session.execute(select(Outbox).where(Outbox.ref == f"incident:{low.id}")).first()
    incidents.update_incident(session, incident_id=low.id, data=IncidentUpdate(severity="SEV2"), actor=world["bob"].actor)
    kinds = [(e.kind, e.summary) for e in incidents.get_incident(session, incident_id=low.id, actor=SYSTEM).timeline][-2:]
    assert kinds == [("severity", "Severity SEV3 → SEV2"), ("paged", "Paged payments-pager (severity raised to SEV2)")]


def test_with_no_route_the_timeline_says_nobody_was_paged(session, world):
    inc = declare(session, world["alice"].actor, severity="SEV1")
    last = incidents.get_incident(session, incident_id=inc.id, actor=SYSTEM).timeline[-1]
    assert last.summary == "Nobody was paged (declared): no alert route reaches a receiver for checkout"


def test_roles_assign_hand_over_and_clear(session, world):
    bob = world["bob"].actor
    inc = declare(session, world["alice"].actor)
    incidents.assign_role(session, incident_id=inc.id, data=RoleAssign(role=Role.SCRIBE, person="ann"), actor=bob)
    incidents.assign_role(session, incident_id=inc.id, data=RoleAssign(role=Role.COMMANDER, person="ben"), actor=bob)
    out = incidents.assign_role(session, incident_id=inc.id, data=RoleAssign(role=Role.SCRIBE, person=None), actor=bob)
    assert (out.commander, out.scribe, out.communications) == ("ben", None, None)
    tl = incidents.get_incident(session, incident_id=inc.id, actor=bob).timeline
    assert [(e.kind, e.summary) for e in tl[2:]] == [
        ("role.assigned", "ann is scribe"), ("role.handed_over", "alice handed commander over to ben"),
        ("role.cleared", "ann is no longer scribe")]
    with pytest.raises(Conflict, match="ben is already commander"):
        incidents.assign_role(session, incident_id=inc.id, data=RoleAssign(role=Role.COMMANDER, person="ben"), actor=bob)
    with pytest.raises(InvalidInput):
        incidents.assign_role(session, incident_id=inc.id, data=RoleAssign(role=Role.SCRIBE, person="nobody-here"), actor=bob)
    assert len(_audits(session, "incident.assign")) == 3


def test_merge_keeps_both_timelines_and_joins_alerts_and_services(session, world):
    alice = world["alice"].actor
    a = declare(session, alice, title="Checkout errors", severity="SEV3")
    clock.advance(dt.timedelta(minutes=1))
    b = declare(session, alice, services=("ledger",), title="Ledger slow", severity="SEV2")
    incidents.add_note(session, incident_id=b.id, data=NoteCreate(text="ledger note"), actor=alice)
    incidents.add_note(session, incident_id=a.id, data=NoteCreate(text="checkout note"), actor=alice)
    out = incidents.merge(session, incident_id=b.id, into_id=a.id, actor=alice)
    assert out.services == ["checkout", "ledger"] and out.severity == "SEV2" and out.merged == [b.id]
    survivor = incidents.get_incident(session, incident_id=a.id, actor=alice)
    notes = [(e.incident_id, e.body) for e in survivor.timeline if e.kind == "note"]
    assert notes == [(b.id, "ledger note"), (a.id, "checkout note")]
    assert survivor.timeline[-1].summary == f"Incident #{b.id} merged into this one: Ledger slow"
    merged = incidents.get_incident(session, incident_id=b.id, actor=alice)
    assert merged.status == Status.MERGED and merged.merged_into_id == a.id
    assert [e.kind for e in merged.timeline] == ["declared", "role.assigned", "paged", "note", "merged.into"]
    with pytest.raises(Conflict, match=f"incident #{b.id} is merged"):
        incidents.merge(session, incident_id=b.id, into_id=a.id, actor=alice)
    with pytest.raises(InvalidInput, match="into itself"):
        incidents.merge(session, incident_id=a.id, into_id=a.id, actor=alice)


def test_lists_are_filtered_by_scope(session, world):
    root = world["root"].actor
    pay = declare(session, root)
    srch = declare(session, root, services=("search",), title="Search down")
    svc_only = make_persona(session, "sam", ["responder@service:search"]).actor
    assert [i.id for i in incidents.list_incidents(session, filter=IncidentFilter(), actor=world["alice"].actor)] == [pay.id]
    assert [i.id for i in incidents.list_incidents(session, filter=IncidentFilter(), actor=svc_only)] == [srch.id]
    with pytest.raises(PermissionDenied):
        incidents.list_incidents(session, filter=IncidentFilter(), actor=world["carol"].actor)
    assert {i.id for i in incidents.list_incidents(session, filter=IncidentFilter(), actor=world["audrey"].actor)} == {pay.id, srch.id}
    assert [i.id for i in incidents.list_incidents(session, filter=IncidentFilter(service="search"), actor=root)] == [srch.id]
    with pytest.raises(PermissionDenied):
        incidents.get_incident(session, incident_id=srch.id, actor=world["alice"].actor)
    with pytest.raises(PermissionDenied):
        incidents.add_note(session, incident_id=srch.id, data=NoteCreate(text="x"), actor=world["bob"].actor)


def test_service_activity_lands_on_open_incidents_of_its_services_and_on_the_named_incident(session, world):
    alice = world["root"].actor
    open_one = declare(session, alice)
    closed = declare(session, alice, title="old")
    incidents.resolve(session, incident_id=closed.id, actor=alice)
    other = declare(session, alice, services=("search",), title="search", )
    events.publish(session, events.ServiceActivity(kind="runbook.step_ran", services=("checkout",), summary="Restarted pods",
                                                   at=clock.utcnow(), actor="ann", link="/runbooks/7"))
    events.publish(session, events.ServiceActivity(kind="deploy.started", services=("ledger",), summary="Deploy 9 of ledger",
                                                   at=clock.utcnow(), incident_id=other.id))

    def kinds(i):
        return [e.kind for e in incidents.get_incident(session, incident_id=i, actor=SYSTEM).timeline]

    assert kinds(open_one.id)[-1] == "runbook.step_ran"
    assert "runbook.step_ran" not in kinds(closed.id)
    assert kinds(other.id)[-1] == "deploy.started" and "runbook.step_ran" not in kinds(other.id)


def test_status_updates_and_status_changes_carry_messages(session, world):
    bob = world["bob"].actor
    inc = declare(session, world["alice"].actor)
    incidents.change_status(session, incident_id=inc.id, data=StatusChange(status=Status.IDENTIFIED, message="bad config"),
                            actor=bob)
    entry = incidents.post_update(session, incident_id=inc.id, data=StatusUpdate(message="Fix is rolling out",
                                                                                 visibility=Visibility.PUBLIC), actor=bob)
    assert (entry.kind, entry.visibility, entry.details) == ("update", "public", {"status": "identified"})
    with pytest.raises(incidents.InvalidTransition, match="cannot be cancelled once identified"):
        incidents.post_update(session, incident_id=inc.id, data=StatusUpdate(message="x", status=Status.CANCELLED), actor=bob)
    assert [a.action for a in _audits(session, "incident.update_posted")] == ["incident.update_posted"]


def test_markdown_is_rendered_safely():
    html = markdown.render('**bold** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://e.com/a) `<b>`\n\n- a\n- *b*')
    assert "<script>" not in html and "javascript:" not in html.replace("[x](javascript:alert(1))", "")
    assert "&lt;script&gt;" in html and '<a href="https://e.com/a" rel="nofollow noopener">ok</a>' in html
    assert "<strong>bold</strong>" in html and "<code>&lt;b&gt;</code>" in html and "<ul><li>a</li><li><em>b</em></li></ul>" in html
    assert markdown.render('[x](" onmouseover="alert(1))') == '<p>[x](&quot; onmouseover=&quot;alert(1))</p>'


def test_the_panels_show_open_incidents_in_scope(session, world):
    from watchkeeper.incidents import panels

    root = world["root"].actor
    pay = declare(session, root, severity="SEV2")
    declare(session, root, services=("search",), title="Search down")
    alice_view = panels.overview(session, actor=world["alice"].actor)
    assert [i.label for i in alice_view.items] == [f"#{pay.id} Checkout errors"] and alice_view.tone == "bad"
    assert alice_view.summary == "1 open"
    assert panels.overview(session, actor=world["carol"].actor) is None
    hub = panels.for_service(session, service="search", actor=root)
    assert [i.label.split(" ", 1)[1] for i in hub.items] == ["Search down"]
