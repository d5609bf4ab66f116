"""Internal subscribers hear of every declare, status change and update through the notify
outbox; the weekly review is sent every Monday from 09:00 in its zone, once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.factories.alerting import configure, webhook_receiver
from tests.factories.catalog import SYSTEM
from tests.incidents.conftest import declare
from watchkeeper import clock
from watchkeeper.incidents import jobs, settings
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import Status, StatusChange, StatusUpdate, Visibility
from watchkeeper.notify.models import Outbox


def _setup(session):
    configure(session, receivers=[webhook_receiver("incident-room", "http://127.0.0.1:9/")], route={"receiver": "incident-room"})
    settings.put_setting(session, kind="settings", name="notify", value={
        "receivers": ["incident-room", "gone"], "review_receivers": ["incident-room"], "review_timezone": "Europe/Berlin"},
        actor=SYSTEM)


def test_subscribers_hear_of_declare_status_changes_and_updates(session, world):
    _setup(session)
    inc = declare(session, world["alice"].actor, severity="SEV3")
    incidents.change_status(session, incident_id=inc.id, data=StatusChange(status=Status.IDENTIFIED), actor=world["bob"].actor)
    incidents.post_update(session, incident_id=inc.id, data=StatusUpdate(message="Rolling back", visibility=Visibility.PUBLIC),
                          actor=world["bob"].actor)
    rows = session.execute(select(Outbox).where(Outbox.ref == f"incident:{inc.id}").order_by(Outbox.id)).scalars().all()
    assert [r.message["subject"] for r in rows] == [
        f"[SEV3] #{inc.id} Checkout errors: Declared SEV3 by alice: Checkout errors",
        f"[SEV3] #{inc.id} Checkout errors: Status investigating → identified",
        f"[SEV3] #{inc.id} Checkout errors: Public update"]
    assert {r.receiver for r in rows} == {"incident-room"}  # the unknown receiver is skipped, not fatal
    assert rows[-1].message["text"].endswith("\n\nRolling back")


def test_the_weekly_review_is_sent_monday_from_nine_local_once(session, world):
    _setup(session)
    clock.set_frozen(dt.datetime(2026, 3, 9, 7, 30, tzinfo=dt.UTC))  # 08:30 in Berlin
    assert jobs.weekly_review_email(session, {}, None) == {"sent": []}
    clock.set_frozen(dt.datetime(2026, 3, 9, 8, 5, tzinfo=dt.UTC))  # 09:05 in Berlin
    assert jobs.weekly_review_email(session, {}, None) == {"sent": ["incident-room"]}
    clock.set_frozen(dt.datetime(2026, 3, 9, 9, 5, tzinfo=dt.UTC))
    jobs.weekly_review_email(session, {}, None)
    [row] = session.execute(select(Outbox).where(Outbox.ref.like("incident-review:%"))).scalars().all()
    assert row.message["subject"] == "Incident review: week of 2026-03-02"
    assert row.message["text"].startswith("# Incident review: week of 2026-03-02 (Europe/Berlin)")


def test_an_overdue_postmortem_is_announced_once(session, world):
    from watchkeeper.incidents import postmortems

    _setup(session)
    inc = declare(session, world["alice"].actor, severity="SEV2")
    incidents.resolve(session, incident_id=inc.id, actor=world["bob"].actor)
    assert postmortems.notify_overdue(session) == []
    clock.advance(dt.timedelta(days=5, minutes=1))
    assert jobs.verify_action_items(session, {}, None) == {"verified": 0, "overdue_notified": [inc.id]}
    assert postmortems.notify_overdue(session) == [inc.id]  # the outbox keeps it to one message
    subjects = [r.message["subject"] for r in session.execute(select(Outbox).where(Outbox.ref == f"incident:{inc.id}")).scalars()]
    assert subjects.count(f"[SEV2] #{inc.id} Checkout errors: Postmortem overdue") == 1
