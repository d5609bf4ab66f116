"""Done means: a critical Alertmanager alert on a tier-1 PROD service auto-declares a SEV2,
pages, gets acked, receives a note and a status update, resolves; the timeline holds exactly the
expected entries in order; a second alert during the incident attaches to it."""

from __future__ import annotations

import datetime as dt

from tests.factories.alerting import alert, configure, webhook_receiver
from tests.factories.catalog import SYSTEM
from watchkeeper import clock, events
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.schemas import AlertFilter
from watchkeeper.alerting.sources import SOURCES
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    IncidentFilter,
    NoteCreate,
    Status,
    StatusUpdate,
    Visibility,
)


def _am(status: str, alertname: str, service: str, severity: str, starts: dt.datetime) -> dict:
    """An Alertmanager webhook (payload version 4), as Alertmanager posts it."""
    return {"version": "4", "status": status, "receiver": "watchkeeper", "groupKey": '{}:{alertname="' + alertname + '"}',
            "groupLabels": {"alertname": alertname}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": [{"status": status, "labels": {"alertname": alertname, "service": service, "severity": severity},
                        "annotations": {"summary": f"{alertname} on {service}"}, "startsAt": starts.isoformat(),
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph", "fingerprint": "x"}]}


def _ingest(session, payload):
    return alerting.ingest(session, alerts=SOURCES["alertmanager"](payload), source="alertmanager", actor=SYSTEM)


def test_a_critical_alert_on_a_tier1_prod_service_runs_the_whole_incident(session, world, frozen_clock):
    alice, bob = world["alice"].actor, world["bob"].actor
    configure(session, receivers=[webhook_receiver("payments-pager", "http://127.0.0.1:9/")], route={"receiver": "payments-pager"})
    t0 = frozen_clock
    _ingest(session, _am("firing", "CheckoutErrors", "checkout", "critical", t0 - dt.timedelta(minutes=2)))
    [inc] = incidents.list_incidents(session, filter=IncidentFilter(), actor=alice)
    assert (inc.severity, inc.status, inc.source, inc.policy, inc.services) == ("SEV2", Status.TRIGGERED, "alert",
                                                                                "critical-tier1-prod", ["checkout"])
    assert inc.started_at == t0 - dt.timedelta(minutes=2) and inc.detected_at == t0 and inc.acknowledged_at is None

    clock.advance(dt.timedelta(minutes=3))
    incidents.acknowledge(session, incident_id=inc.id, actor=bob)
    clock.advance(dt.timedelta(minutes=1))
    incidents.add_note(session, incident_id=inc.id, data=NoteCreate(text="Error rate **40%** after deploy 1.4.2"), actor=bob)
    clock.advance(dt.timedelta(minutes=1))
    # a second alert on the same service attaches instead of opening a new incident
    _ingest(session, _am("firing", "CheckoutLatency", "checkout", "critical", clock.utcnow()))
    clock.advance(dt.timedelta(minutes=1))
    events.publish(session, events.ServiceActivity(kind="deploy.rolled_back", services=("checkout",),
                                                   summary="Rolled checkout back to 1.4.1", at=clock.utcnow(), actor="bob",
                                                   link="/deploys/42"))
    incidents.post_update(session, incident_id=inc.id, data=StatusUpdate(
        message="We rolled back a faulty release; checkout is recovering.", visibility=Visibility.PUBLIC,
        status=Status.MONITORING), actor=bob)
    clock.advance(dt.timedelta(minutes=10))
    _ingest(session, _am("resolved", "CheckoutErrors", "checkout", "critical", t0 - dt.timedelta(minutes=2)))
    incidents.resolve(session, incident_id=inc.id, actor=bob, message="Error rate back to baseline.")

    assert len(incidents.list_incidents(session, filter=IncidentFilter(status="all"), actor=alice)) == 1
    detail = incidents.get_incident(session, incident_id=inc.id, actor=alice)
    assert [(e.at - t0, e.kind, e.actor, e.summary, e.visibility) for e in detail.timeline] == [
        (dt.timedelta(0), "declared", None, "Declared SEV2 automatically by policy critical-tier1-prod: CheckoutErrors on checkout",
         "internal"),
        (dt.timedelta(0), "alert.fired", None, "Alert CheckoutErrors fired on checkout", "internal"),
        (dt.timedelta(0), "paged", None, "Paged via the alert route of CheckoutErrors (declared)", "internal"),
        (dt.timedelta(minutes=3), "status", "bob", "Status triggered → acknowledged", "internal"),
        (dt.timedelta(minutes=4), "note", "bob", "Error rate **40%** after deploy 1.4.2", "internal"),
        (dt.timedelta(minutes=5), "alert.fired", None, "Alert CheckoutLatency fired on checkout", "internal"),
        (dt.timedelta(minutes=6), "deploy.rolled_back", "bob", "Rolled checkout back to 1.4.1", "internal"),
        (dt.timedelta(minutes=6), "status", "bob", "Status acknowledged → monitoring", "internal"),
        (dt.timedelta(minutes=6), "update", "bob", "We rolled back a faulty release; checkout is recovering.", "public"),
        (dt.timedelta(minutes=16), "alert.resolved", None, "Alert CheckoutErrors resolved on checkout", "internal"),
        (dt.timedelta(minutes=16), "status", "bob", "Status monitoring → resolved", "internal"),
    ]
    assert [a.alertname for a in detail.alerts] == ["CheckoutErrors", "CheckoutLatency"]
    assert detail.acknowledged_at == t0 + dt.timedelta(minutes=3) and detail.acknowledged_by == "bob"
    assert detail.mitigated_at == t0 + dt.timedelta(minutes=6) and detail.resolved_at == t0 + dt.timedelta(minutes=16)
    # the alert itself was routed to the pager, which is what "paged via the alert route" claims
    fired = alerting.list_alerts(session, filter=AlertFilter(alertname="CheckoutErrors"), actor=SYSTEM)
    assert fired and fired[0].service == "checkout"
    md = incidents.export_markdown(session, incident_id=inc.id, actor=alice)
    assert md.startswith(f"# Incident #{inc.id}: CheckoutErrors on checkout\n")
    assert "| 2026-03-02 09:06:00 | bob | We rolled back a faulty release; checkout is recovering. *(public)* |" in md


def test_an_alert_that_matches_no_policy_declares_nothing(session, world):
    _ingest(session, _am("firing", "SearchSlow", "search", "critical", clock.utcnow()))  # tier 2, MVP
    _ingest(session, _am("firing", "CheckoutWarn", "checkout", "warning", clock.utcnow()))  # not critical
    assert incidents.list_incidents(session, filter=IncidentFilter(status="all"), actor=world["root"].actor) == []


def test_services_firing_together_declare_one_incident(session, world):
    from watchkeeper.incidents import settings

    settings.delete_setting(session, kind="policy", name="critical-tier1-prod", actor=SYSTEM)
    settings.put_setting(session, kind="policy", name="two-services", value={
        "severity": "SEV1", "alert_severity": ["critical", "warning"], "services_firing": 2, "within": "10m"}, actor=SYSTEM)
    _ingest(session, _am("firing", "A", "checkout", "warning", clock.utcnow()))
    assert incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM) == []
    clock.advance(dt.timedelta(minutes=11))
    _ingest(session, _am("firing", "B", "search", "critical", clock.utcnow()))  # A started 11 min ago: too long
    assert incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM) == []
    clock.advance(dt.timedelta(minutes=2))
    _ingest(session, _am("firing", "C", "ledger", "critical", clock.utcnow()))
    [inc] = incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM)
    assert inc.severity == "SEV1" and sorted(inc.services) == ["ledger", "search"] and inc.policy == "two-services"
    assert inc.title == "2 services firing: ledger, search"


def test_an_alert_ack_acknowledges_the_triggered_incident_it_opened(session, world):
    _ingest(session, _am("firing", "CheckoutErrors", "checkout", "critical", clock.utcnow()))
    [inc] = incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM)
    [a] = alerting.list_alerts(session, filter=AlertFilter(alertname="CheckoutErrors"), actor=SYSTEM)
    alerting.acknowledge(session, alert_ids=[a.id], actor=world["bob"].actor)
    detail = incidents.get_incident(session, incident_id=inc.id, actor=SYSTEM)
    assert detail.status == Status.ACKNOWLEDGED and detail.acknowledged_by == "bob"
    assert [e.kind for e in detail.timeline][-2:] == ["alert.acknowledged", "status"]
    assert detail.timeline[-1].summary == "Status triggered → acknowledged (alert acknowledged)"


def test_silenced_alerts_declare_nothing(session, world):
    from watchkeeper.alerting.schemas import SilenceCreate

    alerting.create_silence(session, data=SilenceCreate(matchers=["service=checkout"], duration="1h", comment="planned work"),
                            actor=SYSTEM)
    _ingest(session, _am("firing", "CheckoutErrors", "checkout", "critical", clock.utcnow()))
    assert incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM) == []


def test_generic_alert_ingest_path_declares_too(session, world):
    alerting.ingest(session, alerts=[alert("LedgerDown", service="ledger", severity="critical")], source="api", actor=SYSTEM)
    [inc] = incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM)
    assert inc.title == "LedgerDown on ledger"


def test_services_firing_on_one_dependency_chain(session, world):
    from tests.factories.catalog import make_service
    from watchkeeper.incidents import settings

    make_service(session, name="pay-db", team="payments")
    make_service(session, name="pay-api", team="payments", depends_on=["pay-db"])
    settings.delete_setting(session, kind="policy", name="critical-tier1-prod", actor=SYSTEM)
    settings.put_setting(session, kind="policy", name="chain", value={
        "severity": "SEV2", "alert_severity": [], "services_firing": 2, "within": "10m", "dependency_chain": True}, actor=SYSTEM)
    _ingest(session, _am("firing", "SearchSlow", "search", "warning", clock.utcnow()))
    _ingest(session, _am("firing", "ApiErrors", "pay-api", "warning", clock.utcnow()))
    assert incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM) == []  # search is not on pay-api's chain
    _ingest(session, _am("firing", "DbDown", "pay-db", "critical", clock.utcnow()))
    [inc] = incidents.list_incidents(session, filter=IncidentFilter(), actor=SYSTEM)
    assert sorted(inc.services) == ["pay-api", "pay-db"] and inc.policy == "chain"


def test_alerts_that_concern_no_incident_cost_no_incident_query_each(session, world):
    """Ingest stays cheap: the subscriber decides from a per-transaction snapshot (two queries),
    not with queries per alert."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = session.get_bind().engine

    def count(conn, cursor, statement, *args):
        if "incidents_" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        alerting.ingest(session, alerts=[alert(f"Noise{i}", service="search", severity="warning") for i in range(200)],
                        source="api", actor=SYSTEM)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) <= 3, statements  # the snapshot (open incidents, linked alerts, policies)
    assert incidents.list_incidents(session, filter=IncidentFilter(status="all"), actor=SYSTEM) == []
