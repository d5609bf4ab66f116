"""Ingest: fingerprint dedup, state transitions, history, and the retry rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.factories.alerting import alert, ingest
from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import Alert, AlertEvent
from watchkeeper.alerting.schemas import AlertFilter
from watchkeeper.labels import fingerprint


def _row(session, **labels):
    return session.execute(select(Alert).where(Alert.fingerprint == fingerprint(labels))).scalar_one()


def _kinds(session, alert_id):
    return [e.kind for e in session.execute(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)).scalars()]


def test_a_repeat_updates_the_alert_instead_of_storing_it_twice(session, frozen_clock):
    first = ingest(session, alert(service="checkout", instance="a"))
    assert (first.created, first.updated) == (1, 0)
    clock.advance(dt.timedelta(seconds=30))
    again = ingest(session, alert(service="checkout", instance="a", annotations={"summary": "still bad"}))
    assert (again.created, again.updated) == (0, 1)
    rows = session.execute(select(Alert)).scalars().all()
    assert len(rows) == 1
    row = rows[0]
    assert row.receive_count == 2 and row.annotations == {"summary": "still bad"}
    assert row.last_received_at == frozen_clock + dt.timedelta(seconds=30)
    assert _kinds(session, row.id) == ["fired"]


def test_duplicates_inside_one_batch_count_once(session, frozen_clock):
    result = ingest(session, alert(service="checkout"), alert(service="checkout"), alert(service="search"))
    assert result.received == 2 and result.created == 2
    assert session.execute(select(Alert)).scalars().all().__len__() == 2


def test_resolve_then_a_late_retry_of_the_old_firing_is_ignored(session, frozen_clock):
    start = frozen_clock - dt.timedelta(minutes=5)
    ingest(session, alert(service="checkout", starts_at=start))
    clock.advance(dt.timedelta(minutes=1))
    resolved = ingest(session, alert(service="checkout", status="resolved", starts_at=start))
    assert resolved.resolved == 1
    row = _row(session, alertname="HighErrorRate", service="checkout")
    assert row.status == "resolved" and row.ends_at == clock.utcnow()
    late = ingest(session, alert(service="checkout", starts_at=start))  # a delayed retry of the first delivery
    assert late.unchanged == 1 and late.fired_again == 0
    session.refresh(row)
    assert row.status == "resolved"
    clock.advance(dt.timedelta(minutes=1))
    again = ingest(session, alert(service="checkout", starts_at=clock.utcnow()))
    assert again.fired_again == 1
    session.refresh(row)
    assert row.status == "firing" and row.fired_count == 2 and row.ends_at is None
    assert _kinds(session, row.id) == ["fired", "resolved", "fired"]


def test_ends_at_in_the_past_means_resolved(session, frozen_clock):
    result = ingest(session, alert(service="checkout", starts_at=frozen_clock - dt.timedelta(hours=1),
                                   ends_at=frozen_clock - dt.timedelta(minutes=1)))
    assert result.created == 1
    assert _row(session, alertname="HighErrorRate", service="checkout").status == "resolved"


def test_labels_order_does_not_change_the_fingerprint():
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1"}) != fingerprint({"a": "1", "b": ""})


def test_list_filters_by_status_and_service(session, frozen_clock, personas):
    ingest(session, alert(service="checkout"), alert("Other", service="search"))
    ingest(session, alert("Other", service="search", status="resolved"))
    root = personas["root"].actor
    firing = alerting.list_alerts(session, filter=AlertFilter(status="firing"), actor=root)
    assert [a.service for a in firing] == ["checkout"]
    by_service = alerting.list_alerts(session, filter=AlertFilter(service="search"), actor=root)
    assert [a.status for a in by_service] == ["resolved"]
