"""Signed one-click links, fire drills (the readiness evidence), alert quality, internal signals."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.factories.alerting import alert, configure, email_receiver, ingest
from tests.factories.catalog import make_service
from watchkeeper import clock, events
from watchkeeper.alerting import evidence, links
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import Alert
from watchkeeper.audit.models import AuditEvent
from watchkeeper.errors import Conflict
from watchkeeper.evidence import Status
from watchkeeper.signals.events import SignalChanged
from tests.factories.auth import SYSTEM


def _route():
    return {"receiver": "ops", "group_by": ["alertname"], "group_wait": "10s", "group_interval": "1m", "repeat_interval": "4h"}


def _links(body: str) -> dict[str, str]:
    return {"ack_all": re.search(r"Acknowledge all: (\S+)", body).group(1), "resolve_all": re.search(r"Resolve all: (\S+)", body).group(1),
            "noise": re.search(r"noise: (\S+)", body).group(1)}


def test_the_emailed_ack_link_confirms_on_get_and_acts_only_on_post(session, frozen_clock, smtp_server, worker, client):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    ingest(session, alert(service="checkout", instance="a"), alert(service="checkout", instance="b"))
    session.commit()
    clock.advance(dt.timedelta(seconds=11))
    worker.run_once()
    link = _links(smtp_server.bodies()[0])["ack_all"]
    path = link.removeprefix("http://127.0.0.1:8080")
    page = client.get(path)  # what a mail scanner or a person opening the link does
    assert page.status_code == 200 and "Acknowledge?" in page.text and "sent to <strong>ops</strong>" in page.text
    session.expire_all()
    assert all(a.acked_at is None for a in session.execute(select(Alert)).scalars())
    done = client.post(path, data={"note": "looking"})
    assert done.status_code == 200 and "Done" in done.text
    session.expire_all()
    assert {a.acked_by for a in session.execute(select(Alert)).scalars()} == {"link:ops"}
    audit = session.execute(select(AuditEvent).where(AuditEvent.action == "alert.ack")).scalars().all()
    assert len(audit) == 2 and {e.source for e in audit} == {"ui"}


def test_a_per_alert_noise_link_rates_that_alert(session, frozen_clock, smtp_server, worker, client):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    ingest(session, alert(service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=11))
    worker.run_once()
    path = _links(smtp_server.bodies()[0])["noise"].removeprefix("http://127.0.0.1:8080")
    assert client.post(path).status_code == 200
    session.expire_all()
    assert session.execute(select(Alert.quality)).scalar_one() == "noise"


def test_forged_and_expired_links_are_refused(settings, client, frozen_clock):
    token = links.sign(settings, action="ack", target="g:1", receiver="ops", ttl=dt.timedelta(hours=1))
    body, mac = token.split(".")
    forged = links.sign(settings, action="resolve", target="g:1", receiver="ops").split(".")[0] + "." + mac
    r = client.get(f"/ack/{forged}")
    assert r.status_code == 403 and "signature is not valid" in r.text
    assert client.post(f"/ack/{forged}").status_code == 403
    clock.advance(dt.timedelta(hours=2))
    r = client.get(f"/ack/{token}")
    assert r.status_code == 403 and "expired" in r.text
    assert client.get("/ack/garbage").status_code == 403


def test_a_drill_passes_when_acknowledged_in_time_and_becomes_readiness_evidence(session, frozen_clock, smtp_server, worker, personas):
    svc = make_service(session, name="checkout", team="payments")
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    assert evidence.alerting_active(session, svc).status == Status.FAIL
    drill = alerting.start_drill(session, service="checkout", actor=personas["bob"].actor, deadline=dt.timedelta(minutes=15))
    assert drill.receivers == ["ops"] and drill.status == "pending"
    assert evidence.alerting_active(session, svc).status == Status.WARN
    session.commit()
    clock.advance(dt.timedelta(seconds=11))
    worker.run_once()
    assert smtp_server.subjects() == ["[FIRING:1] [DRILL] WatchkeeperFireDrill — checkout"]
    assert "FIRE DRILL" in smtp_server.bodies()[0]
    drill_alert = session.execute(select(Alert).where(Alert.drill_id == drill.id)).scalar_one()
    clock.advance(dt.timedelta(minutes=3))
    alerting.acknowledge(session, alert_ids=[drill_alert.id], actor=personas["alice"].actor.with_source("ui"))
    done = alerting.list_drills(session, actor=SYSTEM, service="checkout")[0]
    assert done.status == "passed" and done.acked_by == "alice"
    ev = evidence.alerting_active(session, svc)
    assert ev.status == Status.PASS and "alice" in ev.reason and ev.observed_at == clock.utcnow()
    assert session.get(Alert, drill_alert.id).status == "resolved"  # the drill alert is closed once passed
    passed = session.execute(select(AuditEvent).where(AuditEvent.action == "drill.passed")).scalar_one()
    assert passed.after["acked_via"] == "ui" and [d["receiver"] for d in passed.after["delivered"]] == ["ops"]
    clock.advance(dt.timedelta(days=31))
    assert evidence.alerting_active(session, svc).status == Status.FAIL


def test_a_drill_cannot_pass_without_a_delivered_page_acknowledged_by_someone_else_in_the_ui(
        session, frozen_clock, smtp_server, worker, personas):
    """Issue 10.12: a drill passed with no notification delivered, acknowledged in the CLI by
    the person who started it."""
    svc = make_service(session, name="checkout", team="payments")
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    drill = alerting.start_drill(session, service="checkout", actor=personas["bob"].actor, deadline=dt.timedelta(minutes=15))
    session.commit()
    drill_alert = session.execute(select(Alert).where(Alert.drill_id == drill.id)).scalar_one()
    with pytest.raises(Conflict, match="has been delivered yet") as before:  # group_wait: nothing sent yet
        alerting.acknowledge(session, alert_ids=[drill_alert.id], actor=personas["alice"].actor.with_source("ui"))
    assert before.value.code == "drill.not_delivered"
    clock.advance(dt.timedelta(seconds=11))
    worker.run_once()
    assert len(smtp_server.subjects()) == 1
    for actor, code in ((personas["alice"].actor.with_source("cli"), "drill.ack_channel"),
                        (personas["alice"].actor.with_source("api"), "drill.ack_channel"),
                        (personas["bob"].actor.with_source("ui"), "drill.ack_self")):
        with pytest.raises(Conflict) as refused:
            alerting.acknowledge(session, alert_ids=[drill_alert.id], actor=actor)
        assert refused.value.code == code
    session.expire_all()
    assert session.get(Alert, drill_alert.id).acked_at is None
    assert alerting.list_drills(session, actor=SYSTEM, service="checkout")[0].status == "pending"
    assert evidence.alerting_active(session, svc).status == Status.WARN


def test_a_drill_is_never_muted_by_a_maintenance_window_or_a_silence(session, frozen_clock, smtp_server, worker, personas, client):
    from watchkeeper.maintenance import service as maintenance
    from watchkeeper.maintenance.schemas import WindowCreate

    make_service(session, name="checkout", team="payments")
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    maintenance.create_window(session, data=WindowCreate(name="upgrade", service="checkout", starts_at=frozen_clock - dt.timedelta(minutes=5),
                                                         duration="2h"), actor=personas["root"].actor)
    from watchkeeper.alerting.schemas import SilenceCreate

    alerting.create_silence(session, data=SilenceCreate(matchers=['service="checkout"'], duration="1h", comment="quiet please"),
                            actor=personas["root"].actor)
    drill = alerting.start_drill(session, service="checkout", actor=personas["bob"].actor, deadline=dt.timedelta(minutes=15))
    session.commit()
    clock.advance(dt.timedelta(seconds=11))
    worker.run_once()
    assert smtp_server.subjects() == ["[FIRING:1] [DRILL] WatchkeeperFireDrill — checkout"]
    path = _links(smtp_server.bodies()[0])["ack_all"].removeprefix("http://127.0.0.1:8080")
    assert client.post(path).status_code == 200  # the page's own link: a responder's channel
    session.expire_all()
    done = alerting.list_drills(session, actor=SYSTEM, service="checkout")[0]
    assert done.status == "passed" and done.acked_by == "link:ops" and done.id == drill.id


def test_an_unacknowledged_drill_fails_at_its_deadline(session, frozen_clock, smtp_server, worker, personas):
    svc = make_service(session, name="checkout", team="payments")
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    alerting.start_drill(session, service="checkout", actor=personas["bob"].actor, deadline=dt.timedelta(minutes=5))
    clock.advance(dt.timedelta(minutes=6))
    assert alerting.expire_drills(session) == 1
    ev = evidence.alerting_active(session, svc)
    assert ev.status == Status.FAIL and "failed" in ev.reason


def test_a_drill_without_any_receiver_is_refused(session, personas):
    make_service(session, name="checkout", team="payments")
    with pytest.raises(Conflict, match="reach no receiver"):
        alerting.start_drill(session, service="checkout", actor=personas["bob"].actor)


def test_quality_report_puts_the_noisiest_rule_first(session, frozen_clock, personas):
    for i in range(5):
        ingest(session, alert("FlappyDisk", service="db", instance=str(i)))
    ingest(session, alert("RealOutage", service="checkout"))
    rows = session.execute(select(Alert).order_by(Alert.id)).scalars().all()
    root = personas["root"].actor
    alerting.mark(session, alert_ids=[rows[0].id, rows[1].id], quality="noise", actor=root)
    alerting.mark(session, alert_ids=[rows[5].id], quality="actionable", actor=root)
    report = alerting.quality_report(session, actor=root)
    assert [(r.alertname, r.fired, r.acted_on, r.noise) for r in report] == [("FlappyDisk", 5, 0, 2), ("RealOutage", 1, 1, 0)]
    assert report[1].action_rate == 1.0


def test_a_monitoring_signal_becomes_an_internal_alert_and_its_recovery_resolves_it(session, frozen_clock, container):
    start = clock.utcnow()
    events.publish(session, SignalChanged(source="probe", name="ProbeDown", firing=True, labels={"alertname": "ProbeDown", "probe": "home"},
                                          annotations={"summary": "https://example.com is down"}, starts_at=start, service="checkout"))
    row = session.execute(select(Alert)).scalar_one()
    assert (row.source, row.status, row.service, row.severity) == ("internal", "firing", "checkout", "critical")
    assert row.labels["signal_source"] == "probe"
    clock.advance(dt.timedelta(minutes=2))
    events.publish(session, SignalChanged(source="probe", name="ProbeDown", firing=False, labels={"alertname": "ProbeDown", "probe": "home"},
                                          annotations={}, starts_at=start, ends_at=clock.utcnow(), service="checkout"))
    session.refresh(row)
    assert row.status == "resolved" and row.ends_at == clock.utcnow()


def test_the_batch_evidence_agrees_with_the_single_form(session, frozen_clock, smtp_server, personas, worker):
    a = make_service(session, name="checkout", team="payments")
    b = make_service(session, name="search-api", team="search")
    c = make_service(session, name="db", team="payments")
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route())
    alerting.start_drill(session, service="checkout", actor=personas["root"].actor)
    alerting.start_drill(session, service="db", actor=personas["root"].actor, deadline=dt.timedelta(minutes=1))
    session.commit()
    clock.advance(dt.timedelta(seconds=11))
    worker.run_once()
    drill_alert = session.execute(select(Alert).where(Alert.service == "checkout")).scalar_one()
    alerting.acknowledge(session, alert_ids=[drill_alert.id], actor=personas["alice"].actor.with_source("ui"))
    clock.advance(dt.timedelta(minutes=2))
    alerting.expire_drills(session)
    batch = evidence.alerting_active_batch(session, [a, b, c])
    for svc in (a, b, c):
        assert batch[svc.name] == evidence.alerting_active(session, svc)
    assert [batch[s.name].status for s in (a, b, c)] == [Status.PASS, Status.FAIL, Status.FAIL]
