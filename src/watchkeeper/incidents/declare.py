"""Incidents from alerts: the subscribers of the alert pipeline's events and of the timeline
port (wired through the descriptor's `subscriptions`, run in the publisher's transaction).

A firing alert on a service with an open incident attaches to it (its timeline says so); an
alert that fires again while linked says "fired again". Otherwise the auto-declare policies
(incidents.policies in watchkeeper.yaml) are tried in order: a single-alert policy matches the
alert's severity label and its service's tier and stage; a `services_firing: N` policy declares
when N distinct services (filtered the same way) have started firing within `within`. Fire
drills of the alert pipeline and suppressed alerts (silenced, in maintenance, inhibited) never
declare."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor
from watchkeeper.catalog import service as catalog
from watchkeeper.incidents import _snapshot, paging, postmortems, timeline
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.models import AlertLink, Incident
from watchkeeper.incidents.schemas import OPEN, PolicyConfig, Status

_SYSTEM = Actor.system("incidents", "system")


def _open_linked(session: Session, fingerprint: str) -> list[Incident]:
    return list(session.execute(
        select(Incident).join(AlertLink, AlertLink.incident_id == Incident.id)
        .where(AlertLink.fingerprint == fingerprint, Incident.status.in_([s.value for s in OPEN]))
        .order_by(Incident.id)).scalars())


def _counts(policy: PolicyConfig, alert, svc) -> bool:
    if svc is None or alert.drill_id or alert.state.value != "active":
        return False
    if policy.alert_severity and (alert.severity or "") not in policy.alert_severity:
        return False
    if policy.tiers and svc.tier not in policy.tiers:
        return False
    return not policy.stages or svc.stage.value in policy.stages


def on_alert_status_changed(session: Session, event) -> None:
    """alerting's AlertStatusChanged: attach, declare, or note the resolution."""
    from watchkeeper.alerting import service as alerting

    snap = _snapshot.get(session)
    if event.status != "firing":
        if event.fingerprint not in snap.linked:
            return
        for row in _open_linked(session, event.fingerprint):
            timeline.add(session, row.id, kind="alert.resolved", summary=f"Alert {event.alertname} resolved"
                         + (f" on {event.service}" if event.service else ""), link=f"/alerts/{event.alert_id}",
                         details={"fingerprint": event.fingerprint, "alert_id": event.alert_id})
        return
    candidates = [p for p in snap.policies if not p.alert_severity or (event.severity or "") in p.alert_severity]
    if event.fingerprint not in snap.linked and event.service not in snap.open_services and not candidates:
        return  # concerns no incident: decided without a query
    alert = alerting.find_alert(session, fingerprint=event.fingerprint)
    if alert is None or alert.drill_id:
        return
    linked = _open_linked(session, event.fingerprint)
    for row in linked:
        timeline.add(session, row.id, kind="alert.fired", summary=f"Alert {alert.alertname} fired again"
                     + (f" on {alert.service}" if alert.service else ""), link=f"/alerts/{alert.id}",
                     details={"fingerprint": alert.fingerprint, "alert_id": alert.id})
    if linked or not alert.service:
        return
    targets = incidents.open_for_services(session, [alert.service])
    for row in targets:
        incidents.link_alert(session, row, alert_id=alert.id, fingerprint=alert.fingerprint, alertname=alert.alertname,
                             service=alert.service, actor_name=None)
    if targets:
        return
    svc = catalog.find_service(session, name=alert.service)
    for policy in candidates:
        if not _counts(policy, alert, svc):
            continue
        if policy.services_firing is None:
            _declare(session, policy, [alert])
            return
        group = _firing_together(session, policy, alert)
        if len({a.service for a in group}) >= policy.services_firing:
            _declare(session, policy, group)
            return


def _firing_together(session: Session, policy: PolicyConfig, alert) -> list:
    """Active firing alerts counted by `policy` that started within its window (not yet on an
    open incident), the newest alert included."""
    from watchkeeper.alerting import service as alerting
    from watchkeeper.alerting.schemas import AlertFilter, AlertStatus

    since = clock.utcnow() - policy.within
    linked = set(session.execute(select(AlertLink.fingerprint).join(Incident, Incident.id == AlertLink.incident_id)
                                 .where(Incident.status.in_([s.value for s in OPEN]))).scalars())
    out, services = [alert], {}
    for other in alerting.list_alerts(session, filter=AlertFilter(status=AlertStatus.FIRING, limit=2000), actor=_SYSTEM):
        if other.id == alert.id or other.fingerprint in linked or not other.service or other.first_seen_at < since:
            continue
        if other.service not in services:
            services[other.service] = catalog.find_service(session, name=other.service)
        if _counts(policy, other, services[other.service]):
            out.append(other)
    if policy.dependency_chain:
        chain = _chain(session, alert.service)
        out = [a for a in out if a.service in chain]
    return out


def _chain(session: Session, service: str) -> set[str]:
    """Every service connected to `service` through depends_on, in either direction."""
    graph = catalog.dependency_graph(session)
    links: dict[str, set[str]] = {}
    for name, deps in graph.items():
        for dep in deps:
            links.setdefault(name, set()).add(dep)
            links.setdefault(dep, set()).add(name)
    seen, todo = {service}, [service]
    while todo:
        for nxt in links.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _declare(session: Session, policy: PolicyConfig, alerts: list) -> Incident:
    first = alerts[0]
    services = list(dict.fromkeys(a.service for a in alerts))
    title = f"{first.alertname} on {first.service}" if len(services) == 1 else \
        f"{len(services)} services firing: {', '.join(services[:5])}"
    actor = Actor.system(f"policy:{policy.name}", "system")
    row = incidents.open_incident(session, title=title[:200], severity=policy.severity, services=services, by=actor,
                                  source="alert", status=Status.TRIGGERED, policy=policy.name,
                                  started_at=min(a.starts_at for a in alerts))
    declared = timeline.add(session, row.id, kind="declared", who=None,
                            summary=f"Declared {row.severity} automatically by policy {policy.name}: {title}",
                            details={"policy": policy.name, "services": services})
    paging.announce(session, row, what=declared.summary, entry_id=declared.id)
    for a in alerts:
        incidents.link_alert(session, row, alert_id=a.id, fingerprint=a.fingerprint, alertname=a.alertname, service=a.service,
                             actor_name=None)
    paging.page(session, row, by=actor, reason="declared", alertname=first.alertname)
    postmortems.check_recurrence(session, row)
    audit.record(session, actor=actor, action="incident.declare", target=f"incident:{row.id}",
                 after={"title": row.title, "severity": row.severity, "services": services, "policy": policy.name})
    return row


def on_alert_acknowledged(session: Session, event) -> None:
    """alerting's AlertAcknowledged: on the timeline of the open incidents it is linked to; a
    triggered incident is acknowledged with it (the page was answered)."""
    if event.fingerprint not in _snapshot.get(session).linked:
        return
    for row in _open_linked(session, event.fingerprint):
        link = session.execute(select(AlertLink).where(AlertLink.incident_id == row.id,
                                                       AlertLink.fingerprint == event.fingerprint)).scalar_one()
        timeline.add(session, row.id, kind="alert.acknowledged", who=event.actor,
                     summary=f"Alert {link.alertname} acknowledged by {event.actor}", link=f"/alerts/{event.alert_id}",
                     details={"fingerprint": event.fingerprint})
        incidents.acknowledge_from_alert(session, row, event.actor)


def on_service_activity(session: Session, event) -> None:
    """The timeline port (watchkeeper.events.ServiceActivity): on the timeline of every open
    incident on one of its services, and of `incident_id` when it names one."""
    rows = {r.id: r for r in incidents.open_for_services(session, list(event.services))}
    if event.incident_id is not None and event.incident_id not in rows:
        row = session.get(Incident, event.incident_id)
        if row is not None:
            rows[row.id] = row
    at = event.at if isinstance(event.at, dt.datetime) and event.at.tzinfo else clock.utcnow()
    for row in rows.values():
        timeline.add(session, row.id, kind=event.kind, who=event.actor, summary=event.summary, link=event.link,
                     details={**(event.details or {}), "services": list(event.services)}, at=at)
