"""Postmortems and verified action items; the weekly review against a hand-computed fixture
(incidents crossing week boundaries and a DST change, in two time zones); game-day drills."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories.alerting import alert
from tests.factories.catalog import SYSTEM
from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.errors import Conflict
from watchkeeper.incidents import metrics, postmortems
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    ActionItemCreate,
    ActionItemUpdate,
    IncidentFilter,
    PostmortemUpdate,
    Status,
)

UTC = dt.UTC


def _fire(session, name, service="checkout", **kw):
    alerting.ingest(session, alerts=[alert(name, service=service, severity="critical", **kw)], source="api", actor=SYSTEM)
    return incidents.list_incidents(session, filter=IncidentFilter(service=service), actor=SYSTEM)[0]


def test_a_postmortem_is_written_published_and_its_fixed_item_verified_when_nothing_recurs(session, world):
    bob = world["bob"].actor
    inc = _fire(session, "CheckoutErrors")
    incidents.acknowledge(session, incident_id=inc.id, actor=bob)
    pm = postmortems.start_postmortem(session, incident_id=inc.id, actor=bob)
    assert pm.status == "draft" and pm.due_at is None and "## Timeline" in pm.timeline_markdown
    with pytest.raises(Conflict, match="resolve it before publishing"):
        postmortems.publish_postmortem(session, incident_id=inc.id, actor=bob)
    incidents.resolve(session, incident_id=inc.id, actor=bob)
    postmortems.update_postmortem(session, incident_id=inc.id, data=PostmortemUpdate(root_cause="A bad config push"), actor=bob)
    item = postmortems.add_action_item(session, incident_id=inc.id, data=ActionItemCreate(title="Validate config in CI", owner="ann"),
                                       actor=bob)
    postmortems.update_action_item(session, item_id=item.id, data=ActionItemUpdate(status="done", change_ref="deploy:42"), actor=bob)
    unlinked = postmortems.add_action_item(session, incident_id=inc.id, data=ActionItemCreate(title="Write a runbook"), actor=bob)
    postmortems.update_action_item(session, item_id=unlinked.id, data=ActionItemUpdate(status="done"), actor=bob)
    published = postmortems.publish_postmortem(session, incident_id=inc.id, actor=bob)
    assert published.status == "published" and published.overdue is False
    clock.advance(dt.timedelta(days=29))
    assert postmortems.verify_due(session) == 0
    clock.advance(dt.timedelta(days=2))
    assert postmortems.verify_due(session) == 1
    items = {i.title: i for i in postmortems.get_postmortem(session, incident_id=inc.id, actor=bob).action_items}
    assert items["Validate config in CI"].status == "verified"
    assert items["Write a runbook"].status == "done"  # done, but linked to no change: never verified


def test_a_recurrence_reopens_the_items_and_links_the_new_incident(session, world):
    bob = world["bob"].actor
    first = _fire(session, "CheckoutErrors")
    incidents.acknowledge(session, incident_id=first.id, actor=bob)
    incidents.resolve(session, incident_id=first.id, actor=bob)
    postmortems.start_postmortem(session, incident_id=first.id, actor=bob)
    item = postmortems.add_action_item(session, incident_id=first.id, data=ActionItemCreate(title="Fix the pool"), actor=bob)
    postmortems.update_action_item(session, item_id=item.id, data=ActionItemUpdate(status="done", change_ref="deploy:7"), actor=bob)
    clock.advance(dt.timedelta(days=10))
    alerting.ingest(session, alerts=[alert("CheckoutErrors", service="checkout", severity="critical", status="resolved")],
                    source="api", actor=SYSTEM)
    clock.advance(dt.timedelta(minutes=1))
    second = _fire(session, "CheckoutErrors")
    assert second.id != first.id
    [reopened] = postmortems.get_postmortem(session, incident_id=first.id, actor=bob).action_items
    assert (reopened.status, reopened.recurrence_id) == ("reopened", second.id)
    last = incidents.get_incident(session, incident_id=second.id, actor=bob).timeline[-1]
    assert (last.kind, last.summary) == ("recurrence", f"Recurrence of incident #{first.id}: its action items are reopened")
    clock.advance(dt.timedelta(days=40))
    assert postmortems.verify_due(session) == 0  # reopened items are never verified by waiting


def test_a_required_postmortem_becomes_overdue(session, world):
    bob = world["bob"].actor
    inc = _fire(session, "CheckoutErrors")  # SEV2: required by default, due 5 days after resolve
    incidents.acknowledge(session, incident_id=inc.id, actor=bob)
    incidents.resolve(session, incident_id=inc.id, actor=bob)
    pm = postmortems.start_postmortem(session, incident_id=inc.id, actor=bob)
    assert pm.due_at == clock.utcnow() + dt.timedelta(days=5) and not pm.overdue
    clock.advance(dt.timedelta(days=6))
    assert [p.incident_id for p in postmortems.list_postmortems(session, actor=bob, overdue_only=True)] == [inc.id]


def _incident(session, name, service, detected, ack_after, resolved):
    clock.set_frozen(detected)
    inc = _fire(session, name, service=service, starts_at=detected - dt.timedelta(minutes=2))
    clock.set_frozen(detected + ack_after)
    incidents.acknowledge(session, incident_id=inc.id, actor=SYSTEM)
    return inc, resolved


def test_the_weekly_review_equals_the_hand_computed_fixture(session, world):
    """New York's week of 2 March 2026 runs from Mon 05:00 UTC to Mon 9 March 04:00 UTC (DST
    starts on 8 March). B is detected Sunday 1 March 23:30 EST (Monday 04:30 UTC); A Sunday
    8 March 23:30 EDT (Monday 9 March 03:30 UTC). So New York's week holds A and C, UTC's holds B
    and C. C lasts six days, into the next week, and counts in the week it was detected."""
    m = dt.timedelta(minutes=1)
    b, b_res = _incident(session, "B1", "checkout", dt.datetime(2026, 3, 2, 4, 30, tzinfo=UTC), 10 * m, dt.datetime(2026, 3, 2, 5, 30, tzinfo=UTC))
    clock.set_frozen(b_res)
    incidents.resolve(session, incident_id=b.id, actor=SYSTEM)
    c, c_res = _incident(session, "C1", "ledger", dt.datetime(2026, 3, 4, 12, 0, tzinfo=UTC), 5 * m, dt.datetime(2026, 3, 10, 12, tzinfo=UTC))
    a, a_res = _incident(session, "A1", "checkout", dt.datetime(2026, 3, 9, 3, 30, tzinfo=UTC), 20 * m, dt.datetime(2026, 3, 9, 5, 30, tzinfo=UTC))
    clock.set_frozen(a_res)
    incidents.resolve(session, incident_id=a.id, actor=SYSTEM)
    clock.set_frozen(c_res)
    incidents.resolve(session, incident_id=c.id, actor=SYSTEM)
    drill = incidents.start_drill(session, service="search", actor=SYSTEM)
    clock.set_frozen(dt.datetime(2026, 3, 11, 9, tzinfo=UTC))

    ny = metrics.weekly_review(session, day=dt.date(2026, 3, 4), timezone="America/New_York", actor=SYSTEM)
    assert (ny.week_start.isoformat(), ny.week_end.isoformat()) == ("2026-03-02T00:00:00-05:00", "2026-03-09T00:00:00-04:00")
    assert [i.id for i in ny.incidents] == [c.id, a.id]
    assert ny.overall.mtta_seconds == (5 * 60 + 20 * 60) / 2 == 750
    assert ny.overall.mttr_seconds == (6 * 86400 + 2 * 3600) / 2 == 262800
    assert ny.overall.mttd_seconds == 120
    assert {k: (s.count, s.mtta_seconds) for k, s in ny.by_service.items()} == {"checkout": (1, 1200), "ledger": (1, 300)}
    assert [(x.incident_id, x.what, x.took_seconds) for x in ny.breaches] == [(c.id, "resolve", 6 * 86400), (a.id, "ack", 1200)]
    assert ny.drills == []  # the drill was detected 10 March

    utc = metrics.weekly_review(session, day=dt.date(2026, 3, 8), timezone="UTC", actor=SYSTEM)
    assert [i.id for i in utc.incidents] == [b.id, c.id]
    assert utc.overall.mtta_seconds == (10 * 60 + 5 * 60) / 2 == 450
    assert utc.overall.mttr_seconds == (3600 + 6 * 86400) / 2 == 261000
    assert [(x.incident_id, x.what) for x in utc.breaches] == [(c.id, "resolve")]
    assert utc.postmortems_overdue == [b.id]  # SEV2 resolved 2 March 05:30, due 7 March, unpublished
    nxt = metrics.weekly_review(session, day=dt.date(2026, 3, 10), timezone="UTC", actor=SYSTEM)
    assert [i.id for i in nxt.incidents] == [a.id] and [d.id for d in nxt.drills] == [drill.id]
    md = metrics.review_markdown(ny)
    assert md.startswith("# Incident review: week of 2026-03-02 (America/New_York)\n")
    assert "- **MTTA:** 12m30s · **MTTR:** 3d1h · **Time to detect:** 2m" in md, md


def test_a_drill_pages_and_is_marked_everywhere(session, world):
    from sqlalchemy import select

    from tests.factories.alerting import configure, webhook_receiver
    from watchkeeper.notify.models import Outbox

    configure(session, receivers=[webhook_receiver("pager", "http://127.0.0.1:9/")], route={"receiver": "pager"})
    d = incidents.start_drill(session, service="checkout", actor=world["bob"].actor)
    assert (d.drill, d.status, d.source, d.title) == (True, Status.TRIGGERED, "drill", "Game day: checkout")
    [row] = session.execute(select(Outbox).where(Outbox.ref == f"incident:{d.id}")).scalars()
    assert row.message["subject"].startswith("[DRILL] [SEV2]")
    # a real alert on the service opens a real incident: it does not attach to the drill
    real = _fire(session, "CheckoutErrors")
    assert real.id != d.id and not real.drill
    assert [i.id for i in incidents.list_incidents(session, filter=IncidentFilter(drills=False), actor=SYSTEM)] == [real.id]
