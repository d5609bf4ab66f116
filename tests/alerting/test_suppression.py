"""Silences, maintenance windows and inhibition (configured rules and the dependency graph):
suppressed alerts are recorded, shown with their reason, and not sent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories.alerting import alert, configure, email_receiver, ingest
from tests.factories.catalog import make_service
from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import Alert, AlertEvent
from watchkeeper.alerting.schemas import SilenceCreate
from watchkeeper.errors import InvalidInput, PermissionDenied
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate
from tests.factories.auth import SYSTEM


def _route(receiver="ops"):
    return {"receiver": receiver, "group_by": ["alertname"], "group_wait": "30s", "group_interval": "1m", "repeat_interval": "4h"}


def _alert(session, name, **labels):
    from watchkeeper.labels import fingerprint

    return session.execute(select(Alert).where(Alert.fingerprint == fingerprint({"alertname": name, **labels}))).scalar_one()


def _flush_all(session, worker, seconds=31):
    session.commit()
    clock.advance(dt.timedelta(seconds=seconds))
    worker.run_once()
    session.expire_all()


def test_a_silence_keeps_matching_alerts_quiet_and_expiry_lets_them_through(session, frozen_clock, smtp_server, worker, personas):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    make_service(session, name="checkout", team="payments")
    silence = alerting.create_silence(session, data=SilenceCreate(matchers=['service="checkout"'], duration="2h", comment="deploying"),
                                      actor=personas["bob"].actor)
    ingest(session, alert(service="checkout"), alert("Other", service="search"))
    row = _alert(session, "HighErrorRate", service="checkout")
    assert row.state == "silenced" and f"#{silence.id}" in row.state_reason and "deploying" in row.state_reason
    _flush_all(session, worker)
    assert smtp_server.subjects() == ["[FIRING:1] Other — search"]
    listed = alerting.list_silences(session, actor=SYSTEM)
    assert listed[0].matching_firing == 1 and listed[0].state == "active"
    alerting.expire_silence(session, silence_id=silence.id, actor=personas["bob"].actor)
    _flush_all(session, worker, seconds=61)
    assert "[FIRING:1] HighErrorRate — checkout" in smtp_server.subjects()
    assert [s.state for s in alerting.list_silences(session, actor=SYSTEM, include_expired=True)] == ["expired"]
    kinds = [e.kind for e in session.execute(select(AlertEvent).where(AlertEvent.alert_id == row.id).order_by(AlertEvent.id)).scalars()]
    assert kinds[:3] == ["fired", "silenced", "active"] and "notified" in kinds


def test_a_silence_created_after_the_alert_still_stops_the_notification(session, frozen_clock, smtp_server, worker, personas):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    ingest(session, alert(service="checkout"))
    alerting.create_silence(session, data=SilenceCreate(matchers=['alertname=~"High.*"'], duration="1h", comment="known issue"),
                            actor=personas["root"].actor)
    assert _alert(session, "HighErrorRate", service="checkout").state == "silenced"
    _flush_all(session, worker)
    assert smtp_server.messages == []


def test_silences_are_refused_when_they_would_match_everything_or_end_in_the_past(session, frozen_clock, personas):
    with pytest.raises(InvalidInput, match="silence everything"):
        alerting.create_silence(session, data=SilenceCreate(matchers=['team=~".*"'], duration="1h", comment="oops"),
                                actor=personas["root"].actor)
    with pytest.raises(InvalidInput, match="already be over"):
        alerting.create_silence(session, data=SilenceCreate(matchers=['service="x"'], starts_at=frozen_clock - dt.timedelta(hours=3),
                                                            duration="1h", comment="late"), actor=personas["root"].actor)


def test_an_outsider_cannot_silence_another_teams_service(session, personas):
    make_service(session, name="checkout", team="payments")
    with pytest.raises(PermissionDenied):
        alerting.create_silence(session, data=SilenceCreate(matchers=['service="checkout"'], duration="1h", comment="mine now"),
                                actor=personas["carol"].actor)


def test_silence_and_expiry_are_audited(session, frozen_clock, personas):
    from watchkeeper.audit.models import AuditEvent

    s = alerting.create_silence(session, data=SilenceCreate(matchers=['service="x"'], duration="1h", comment="because"),
                                actor=personas["root"].actor)
    alerting.expire_silence(session, silence_id=s.id, actor=personas["root"].actor)
    actions = [e.action for e in session.execute(select(AuditEvent).where(AuditEvent.target == f"silence:{s.id}").order_by(AuditEvent.seq)).scalars()]
    assert actions == ["silence.create", "silence.expire"]


def test_a_maintenance_window_records_the_alert_but_sends_nothing(session, frozen_clock, smtp_server, worker, personas):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    make_service(session, name="checkout", team="payments")
    maintenance.create_window(session, data=WindowCreate(name="db-upgrade", service="checkout", starts_at=frozen_clock - dt.timedelta(minutes=5),
                                                         duration="1h", comment="PostgreSQL 17"), actor=personas["alice"].actor)
    ingest(session, alert(service="checkout"))
    row = _alert(session, "HighErrorRate", service="checkout")
    assert row.state == "maintenance" and "db-upgrade" in row.state_reason
    _flush_all(session, worker)
    assert smtp_server.messages == []
    clock.advance(dt.timedelta(hours=1))  # window over: the still-firing alert is sent
    worker.run_once()
    assert smtp_server.subjects() == ["[FIRING:1] HighErrorRate — checkout"]


def test_a_window_added_or_cancelled_over_firing_alerts_changes_all_of_them_at_once(session, frozen_clock, smtp_server, worker,
                                                                                    personas):
    """Issue 10.15: after a window was added, half of the service's alerts showed 'maintenance'
    (those that happened to refire) and half 'active'."""
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    make_service(session, name="checkout", team="payments")
    make_service(session, name="search", team="search")
    ingest(session, *(alert(service="checkout", instance=str(i)) for i in range(4)), alert(service="search"))
    states = lambda svc: {a.state for a in session.execute(select(Alert).where(Alert.service == svc)).scalars()}  # noqa: E731
    assert states("checkout") == {"active"}
    maintenance.create_window(session, data=WindowCreate(name="db-upgrade", service="checkout", starts_at=frozen_clock,
                                                         duration="1h"), actor=personas["alice"].actor)
    session.expire_all()
    assert states("checkout") == {"maintenance"} and states("search") == {"active"}
    events = session.execute(select(AlertEvent).where(AlertEvent.kind == "maintenance")).scalars().all()
    assert len(events) == 4
    _flush_all(session, worker)
    assert [s for s in smtp_server.subjects() if "checkout" in s] == [] and any("search" in s for s in smtp_server.subjects())
    maintenance.cancel_window(session, name="db-upgrade", actor=personas["alice"].actor)
    session.expire_all()
    assert states("checkout") == {"active"}
    session.commit()
    clock.advance(dt.timedelta(minutes=1))
    worker.run_once()
    assert any("checkout" in s for s in smtp_server.subjects())  # the outage pages once the window is gone


def test_a_weekly_rrule_window_covers_each_sunday_night_in_its_time_zone(session, personas):
    make_service(session, name="checkout", team="payments")
    from zoneinfo import ZoneInfo

    start = dt.datetime(2026, 3, 1, 2, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # a Sunday, 02:00 local
    maintenance.create_window(session, data=WindowCreate(name="sunday-patching", service="checkout", starts_at=start, duration="2h",
                                                         rrule="FREQ=WEEKLY;BYDAY=SU", timezone="Europe/Berlin"), actor=personas["alice"].actor)
    sunday = dt.datetime(2026, 3, 8, 1, 30, tzinfo=dt.timezone.utc)  # 02:30 in Berlin
    assert maintenance.active_for(session, service="checkout", at=sunday) is not None
    assert maintenance.active_for(session, service="checkout", at=sunday + dt.timedelta(hours=3)) is None
    assert maintenance.active_for(session, service="checkout", at=sunday + dt.timedelta(days=1)) is None
    after_dst = dt.datetime(2026, 4, 5, 0, 30, tzinfo=dt.timezone.utc)  # 02:30 CEST: the window follows local time
    assert maintenance.active_for(session, service="checkout", at=after_dst) is not None
    assert maintenance.active_for(session, service="checkout", at=after_dst - dt.timedelta(hours=1)) is None


def test_a_cron_window_and_cancel(session, personas, frozen_clock):
    make_service(session, name="checkout", team="payments")
    w = maintenance.create_window(session, data=WindowCreate(name="nightly", service="checkout", starts_at=frozen_clock - dt.timedelta(days=1),
                                                             duration="30m", cron="0 3 * * *"), actor=personas["alice"].actor)
    assert w.next_start == dt.datetime(2026, 3, 3, 3, 0, tzinfo=dt.timezone.utc)
    at = dt.datetime(2026, 3, 3, 3, 10, tzinfo=dt.timezone.utc)
    assert maintenance.active_for(session, service="checkout", at=at) is not None
    maintenance.cancel_window(session, name="nightly", actor=personas["alice"].actor)
    assert maintenance.active_for(session, service="checkout", at=at) is None


def test_bad_recurrence_rules_are_refused_with_an_example():
    with pytest.raises(ValueError, match="FREQ=WEEKLY"):
        WindowCreate(name="x", service="s", starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), duration="1h", rrule="EVERY SUNDAY")
    with pytest.raises(ValueError, match="five fields"):
        WindowCreate(name="x", service="s", starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), duration="1h", cron="whenever")


def test_a_configured_inhibit_rule_mutes_targets_with_equal_labels(session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route(), dependency_inhibition=False,
              inhibit_rules=[{"source_matchers": ['alertname="DatacenterDown"'], "target_matchers": ['severity="warning"'],
                              "equal": ["region"]}])
    ingest(session, alert("DatacenterDown", region="eu", severity="critical"),
           alert("SlowRequests", region="eu", severity="warning"), alert("SlowRequests", region="us", severity="warning"))
    _flush_all(session, worker)
    assert sorted(smtp_server.subjects()) == ["[FIRING:1] DatacenterDown", "[FIRING:1] SlowRequests"]
    assert "region=us" in [b for b in smtp_server.bodies() if "SlowRequests" in b][0]
    muted = _alert(session, "SlowRequests", region="eu", severity="warning")
    assert muted.state == "inhibited" and "DatacenterDown" in muted.state_reason


def test_a_critical_alert_on_a_dependency_inhibits_its_dependents(session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    make_service(session, name="db", team="payments")
    make_service(session, name="api", team="payments", depends_on=["db"])
    make_service(session, name="checkout", team="payments", depends_on=["api"])
    ingest(session, alert("DatabaseDown", service="db", severity="critical"), alert("HighErrorRate", service="checkout", severity="critical"),
           alert("HighLatency", service="search", severity="warning"))
    _flush_all(session, worker)
    assert sorted(smtp_server.subjects()) == ["[FIRING:1] DatabaseDown — db", "[FIRING:1] HighLatency — search"]
    row = _alert(session, "HighErrorRate", service="checkout", severity="critical")
    assert row.state == "inhibited" and row.state_reason == "inhibited by DatabaseDown on db (a dependency of checkout)"
    explained = alerting.explain_route(session, actor=SYSTEM, labels={"alertname": "X", "service": "api"})
    assert explained.suppressed and "DatabaseDown" in explained.suppressed
