"""Incident use cases: declare, read, list (filtered by the actor's scope), change status
(lifecycle.py refuses invalid moves), severity/title/impact, roles, notes, status updates,
attach alerts, merge. Each checks `incident.<verb>` on the incident's team and services, audits,
writes the timeline (timeline.py) and flushes; none commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth import service as auth
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.incidents import _snapshot, lifecycle, paging, settings, timeline
from watchkeeper.incidents.markdown import plain
from watchkeeper.incidents.models import AlertLink, Incident
from watchkeeper.incidents.schemas import (
    OPEN,
    AlertLinkRead,
    EntryRead,
    IncidentCreate,
    IncidentDetail,
    IncidentFilter,
    IncidentRead,
    IncidentUpdate,
    NoteCreate,
    RoleAssign,
    Status,
    StatusChange,
    StatusUpdate,
    Visibility,
)


class IncidentNotFound(NotFound):
    code = "incidents.not_found"


class InvalidTransition(Conflict):
    code = "incidents.invalid_transition"


# ---------------------------------------------------------------------------- rows and reads


def _row(session: Session, incident_id: int) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise IncidentNotFound(f"no incident #{incident_id}; `watchkeeper incident list` shows them")
    return row


def _merged_ids(session: Session, incident_id: int) -> list[int]:
    """This incident and every incident merged into it (transitively)."""
    out, frontier = [incident_id], [incident_id]
    while frontier:
        found = list(session.execute(select(Incident.id).where(Incident.merged_into_id.in_(frontier))).scalars())
        out += found
        frontier = found
    return out


def _read(session: Session, row: Incident, cls=IncidentRead):
    links = session.execute(select(AlertLink).where(AlertLink.incident_id == row.id).order_by(AlertLink.linked_at, AlertLink.id)).scalars()
    merged = list(session.execute(select(Incident.id).where(Incident.merged_into_id == row.id).order_by(Incident.id)).scalars())
    return cls.model_validate({
        **{c.key: getattr(row, c.key) for c in Incident.__table__.columns},
        "alerts": [AlertLinkRead.model_validate(x) for x in links], "merged": merged,
        "allowed_next": list(lifecycle.ALLOWED[Status(row.status)]),
    })


def _services(session: Session, names: list[str]):
    out = []
    for name in names:
        svc = catalog.find_service(session, name=name)
        if svc is None:
            raise InvalidInput(f"no service named '{name}'; `watchkeeper service list` shows them", field="services")
        out.append(svc)
    return out


def require_on(actor: Actor, permission: str, row: Incident) -> None:
    """The permission on the incident's team, or on one of its services (a service-scoped grant)."""
    if any(actor.can(permission, team=row.team, service=s) for s in row.services or [None]):
        return
    require(actor, permission, team=row.team, service=(row.services or [None])[0])


def visible(actor: Actor, row: Incident) -> bool:
    return any(actor.can("incident.read", team=row.team, service=s) for s in row.services or [None])


def known_person(session: Session, handle: str) -> None:
    try:
        teams.lookup_person(session, handle=handle)
        return
    except NotFound:
        pass
    try:
        auth.get_user(session, username=handle)
    except NotFound:
        raise InvalidInput(f"no person or user '{handle}'; `watchkeeper person list` shows people", field="person") from None


# ---------------------------------------------------------------------------- declare


def open_incident(session: Session, *, title: str, severity: str, services: list[str], by: Actor, source: str,
                  status: Status, started_at: dt.datetime | None = None, impact: str | None = None,
                  customer_facing: bool = False, commander: str | None = None, policy: str | None = None,
                  drill: bool = False) -> Incident:
    """Create the row and its first timeline entries (callers check permission)."""
    sevs = settings.severities(session)
    if severity not in sevs:
        raise InvalidInput(f"unknown severity '{severity}'; use one of {', '.join(sevs)}", field="severity")
    svcs = _services(session, services)
    now = clock.utcnow()
    row = Incident(title=title, severity=severity, status=status.value, team=svcs[0].team, services=[s.name for s in svcs],
                   impact=impact, customer_facing=customer_facing, source=source, policy=policy, drill=drill,
                   commander=commander, started_at=min(started_at or now, now), detected_at=now, created_by=by.name,
                   updated_at=now)
    if status != Status.TRIGGERED:
        row.acknowledged_at, row.acknowledged_by = now, by.name
    session.add(row)
    session.flush()
    _snapshot.forget(session)
    return row


def declare(session: Session, *, data: IncidentCreate, actor: Actor, drill: bool = False) -> IncidentRead:
    """Declare an incident by hand: it starts `investigating`, acknowledged by the declarer, who
    commands it unless `commander` names someone else. Pages when its severity says so.
    Permission `incident.declare` on each affected service. Audited."""
    svcs = _services(session, data.services)
    for svc in svcs:
        require(actor, "incident.declare", team=svc.team, service=svc.name)
    if data.commander:
        known_person(session, data.commander)
    commander = data.commander or (actor.name if actor.id is not None and not drill else None)
    row = open_incident(session, title=data.title, severity=data.severity, services=data.services, by=actor,
                        source="drill" if drill else "manual", status=Status.TRIGGERED if drill else Status.INVESTIGATING,
                        started_at=data.started_at,
                        impact=data.impact, customer_facing=data.customer_facing, commander=commander, drill=drill)
    what = "Drill declared" if drill else "Declared"
    declared = timeline.add(session, row.id, kind="declared", who=actor.name,
                 summary=f"{what} {row.severity} by {actor.name}: {row.title}", details={"services": row.services})
    if commander:
        timeline.add(session, row.id, kind="role.assigned", who=actor.name, summary=f"{commander} is commander",
                     details={"role": "commander", "person": commander})
    audit.record(session, actor=actor, action="incident.declare", target=f"incident:{row.id}",
                 after={"title": row.title, "severity": row.severity, "services": row.services, "drill": drill})
    paging.announce(session, row, what=declared.summary, entry_id=declared.id, body=row.impact)
    if drill or settings.severities(session)[row.severity].page:
        paging.page(session, row, by=actor, reason="drill" if drill else "declared")
    from watchkeeper.incidents import postmortems

    postmortems.check_recurrence(session, row)
    session.flush()
    return _read(session, row)


def start_drill(session: Session, *, service: str, actor: Actor, severity: str = "SEV2") -> IncidentRead:
    """A game day: a drill incident on `service` that starts triggered and pages like a real one
    (messages say DRILL), to be acknowledged, resolved and written up. Marked as a drill
    everywhere; drills never reach the status page and never take real alerts or activity.
    Permission `incident.declare` on the service. Audited."""
    data = IncidentCreate(title=f"Game day: {service}", severity=severity, services=[service],
                          impact="A drill: no real impact.")
    return declare(session, data=data, actor=actor, drill=True)


# ---------------------------------------------------------------------------- read


def get_incident(session: Session, *, incident_id: int, actor: Actor) -> IncidentDetail:
    """One incident with its timeline (and the timelines of incidents merged into it).
    Permission `incident.read` on its team or a service."""
    row = _row(session, incident_id)
    require_on(actor, "incident.read", row)
    detail = _read(session, row, IncidentDetail)
    detail.timeline = timeline.entries(session, _merged_ids(session, row.id))
    return detail


def list_incidents(session: Session, *, filter: IncidentFilter, actor: Actor) -> list[IncidentRead]:
    """Incidents the actor may see (open by default), newest first. Permission `incident.read`."""
    require(actor, "incident.read")
    query = select(Incident).order_by(Incident.detected_at.desc(), Incident.id.desc())
    if filter.status == "open":
        query = query.where(Incident.status.in_([s.value for s in OPEN]))
    elif filter.status == "closed":
        query = query.where(Incident.status.notin_([s.value for s in OPEN]))
    if filter.team:
        query = query.where(Incident.team == filter.team)
    if filter.severity:
        query = query.where(Incident.severity == filter.severity)
    if not filter.drills:
        query = query.where(Incident.drill.is_(False))
    out = []
    for row in session.execute(query).scalars():
        if filter.service and filter.service not in (row.services or []):
            continue
        if visible(actor, row):
            out.append(_read(session, row))
            if len(out) >= filter.limit:
                break
    return out


def open_for_services(session: Session, services: list[str] | tuple[str, ...]) -> list[Incident]:
    """Open incidents (not drills) on any of `services`, oldest first (the alert pipeline's
    subscriber and the timeline port attach to these)."""
    wanted = set(services)
    rows = session.execute(select(Incident).where(Incident.status.in_([s.value for s in OPEN]), Incident.drill.is_(False))
                           .order_by(Incident.detected_at, Incident.id)).scalars()
    return [r for r in rows if wanted & set(r.services or [])]


def get_timeline(session: Session, *, incident_id: int, actor: Actor) -> list[EntryRead]:
    """The timeline alone. Permission `incident.read`."""
    return get_incident(session, incident_id=incident_id, actor=actor).timeline


def export_markdown(session: Session, *, incident_id: int, actor: Actor) -> str:
    """The incident and its timeline as Markdown (for the postmortem or a ticket). Permission `incident.read`."""
    return timeline.to_markdown(get_incident(session, incident_id=incident_id, actor=actor))


# ---------------------------------------------------------------------------- lifecycle


def _apply_status(session: Session, row: Incident, target: Status, actor: Actor, *, message: str | None = None,
                  visibility: Visibility = Visibility.INTERNAL, via: str | None = None) -> None:
    current = Status(row.status)
    refused = lifecycle.refusal(row.id, current, target)
    if refused:
        raise InvalidTransition(refused, field="status")
    _snapshot.forget(session)
    now = clock.utcnow()
    row.status, row.updated_at = target.value, now
    if target == Status.ACKNOWLEDGED and row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by = now, actor.name
    if target in (Status.MONITORING, Status.RESOLVED) and row.mitigated_at is None:
        row.mitigated_at = now
    if target == Status.RESOLVED:
        row.resolved_at = now
    if target in (Status.RESOLVED, Status.CANCELLED):
        row.closed_at = now
    summary = f"Status {current.value} → {target.value}" + (f" ({via})" if via else "")
    entry = timeline.add(session, row.id, kind="status", who=actor.name, summary=summary, body=message, visibility=visibility.value,
                         details={"from": current.value, "to": target.value})
    paging.announce(session, row, what=summary, entry_id=entry.id, body=message)
    audit.record(session, actor=actor, action=f"incident.{'ack' if target == Status.ACKNOWLEDGED else 'status'}",
                 target=f"incident:{row.id}", before={"status": current.value}, after={"status": target.value})


def change_status(session: Session, *, incident_id: int, data: StatusChange, actor: Actor) -> IncidentRead:
    """Move the incident along its lifecycle; an invalid move raises InvalidTransition with one
    line naming the allowed next statuses. Permission `incident.update`. Audited."""
    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    _apply_status(session, row, data.status, actor, message=data.message, visibility=data.visibility)
    session.flush()
    return _read(session, row)


def acknowledge(session: Session, *, incident_id: int, actor: Actor) -> IncidentRead:
    """Acknowledge a triggered incident (stops the clock of MTTA). Permission `incident.update`."""
    return change_status(session, incident_id=incident_id, data=StatusChange(status=Status.ACKNOWLEDGED), actor=actor)


def resolve(session: Session, *, incident_id: int, actor: Actor, message: str | None = None,
            visibility: Visibility = Visibility.INTERNAL) -> IncidentRead:
    """Resolve the incident. Permission `incident.update`."""
    return change_status(session, incident_id=incident_id, data=StatusChange(status=Status.RESOLVED, message=message,
                                                                              visibility=visibility), actor=actor)


def acknowledge_from_alert(session: Session, row: Incident, actor_name: str) -> None:
    """A page (alert) acknowledged acknowledges the triggered incident it opened (the alert
    pipeline checked the ack's permission)."""
    if row.status == Status.TRIGGERED.value:
        _apply_status(session, row, Status.ACKNOWLEDGED, Actor.system(actor_name, "system"), via="alert acknowledged")


# ---------------------------------------------------------------------------- edits


def update_incident(session: Session, *, incident_id: int, data: IncidentUpdate, actor: Actor) -> IncidentRead:
    """Change title, severity, impact or customer-facing. A severity change is on the timeline
    and pages when the new severity pages and the old did not. Permission `incident.update`. Audited."""
    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    if Status(row.status) not in OPEN and data.severity:
        raise Conflict(f"incident #{row.id} is {row.status}; its severity can no longer change", code="incidents.closed")
    sevs = settings.severities(session)
    before, after = {}, {}
    for field in ("title", "severity", "impact", "customer_facing"):
        value = getattr(data, field)
        if value is not None and value != getattr(row, field):
            before[field], after[field] = getattr(row, field), value
    if not after:
        return _read(session, row)
    old_sev = row.severity
    for field, value in after.items():
        setattr(row, field, value)
    row.updated_at = clock.utcnow()
    if "severity" in after:
        timeline.add(session, row.id, kind="severity", who=actor.name, summary=f"Severity {old_sev} → {row.severity}",
                     details={"from": old_sev, "to": row.severity})
    if "impact" in after or "customer_facing" in after:
        timeline.add(session, row.id, kind="impact", who=actor.name,
                     summary=("Customer-facing: " if row.customer_facing else "Impact: ") + plain(row.impact or "not described"))
    if "title" in after:
        timeline.add(session, row.id, kind="title", who=actor.name, summary=f"Title: {row.title}")
    audit.record(session, actor=actor, action="incident.update", target=f"incident:{row.id}", before=before, after=after)
    if "severity" in after and sevs[row.severity].page and not sevs[old_sev].page:
        paging.page(session, row, by=actor, reason=f"severity raised to {row.severity}")
    session.flush()
    return _read(session, row)


def assign_role(session: Session, *, incident_id: int, data: RoleAssign, actor: Actor) -> IncidentRead:
    """Assign, hand over or clear commander, communications or scribe. Permission `incident.update`. Audited."""
    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    if data.person:
        known_person(session, data.person)
    role = data.role.value
    before = getattr(row, role)
    if before == data.person:
        raise Conflict(f"{data.person or 'nobody'} is already {role} of incident #{row.id}", code="incidents.role_unchanged")
    setattr(row, role, data.person)
    row.updated_at = clock.utcnow()
    if data.person is None:
        kind, summary = "role.cleared", f"{before} is no longer {role}"
    elif before:
        kind, summary = "role.handed_over", f"{before} handed {role} over to {data.person}"
    else:
        kind, summary = "role.assigned", f"{data.person} is {role}"
    timeline.add(session, row.id, kind=kind, who=actor.name, summary=summary,
                 details={"role": role, "from": before, "person": data.person})
    audit.record(session, actor=actor, action="incident.assign", target=f"incident:{row.id}", before={role: before},
                 after={role: data.person})
    session.flush()
    return _read(session, row)


def add_note(session: Session, *, incident_id: int, data: NoteCreate, actor: Actor) -> EntryRead:
    """An internal Markdown note on the timeline. Permission `incident.update`. Audited."""
    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    entry = timeline.add(session, row.id, kind="note", who=actor.name, summary=plain(data.text, 200), body=data.text)
    audit.record(session, actor=actor, action="incident.note", target=f"incident:{row.id}", after={"entry": entry.id})
    return entry


def post_update(session: Session, *, incident_id: int, data: StatusUpdate, actor: Actor) -> EntryRead:
    """A status update to stakeholders; `public` ones appear on /status. With `status` it also
    moves the lifecycle (refused like change_status). Permission `incident.update`. Audited."""
    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    if data.status is not None and data.status.value != row.status:
        _apply_status(session, row, data.status, actor)
    elif Status(row.status) not in OPEN and row.status != Status.RESOLVED.value:
        raise Conflict(f"incident #{row.id} is {row.status}; it takes no more updates", code="incidents.closed")
    entry = timeline.add(session, row.id, kind="update", who=actor.name, summary=plain(data.message, 200), body=data.message,
                         visibility=data.visibility.value, details={"status": row.status})
    row.updated_at = clock.utcnow()
    paging.announce(session, row, what=f"{data.visibility.value.capitalize()} update", entry_id=entry.id, body=data.message)
    audit.record(session, actor=actor, action="incident.update_posted", target=f"incident:{row.id}",
                 after={"entry": entry.id, "visibility": data.visibility.value})
    return entry


def attach_alert(session: Session, *, incident_id: int, fingerprint: str, actor: Actor) -> IncidentRead:
    """Link a known alert (by fingerprint) to the incident. Permission `incident.update`. Audited."""
    from watchkeeper.alerting import service as alerting

    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    alert = alerting.find_alert(session, fingerprint=fingerprint)
    if alert is None:
        raise InvalidInput(f"no alert with fingerprint '{fingerprint}'; `watchkeeper alert list` shows them", field="fingerprint")
    if not link_alert(session, row, alert_id=alert.id, fingerprint=alert.fingerprint, alertname=alert.alertname,
                      service=alert.service, actor_name=actor.name, status=alert.status.value):
        raise Conflict(f"alert {fingerprint} is already linked to incident #{row.id}", code="incidents.alert_linked")
    audit.record(session, actor=actor, action="incident.attach", target=f"incident:{row.id}", after={"fingerprint": fingerprint})
    session.flush()
    return _read(session, row)


def link_alert(session: Session, row: Incident, *, alert_id: int | None, fingerprint: str, alertname: str,
               service: str | None, actor_name: str | None, status: str = "firing") -> bool:
    """Link an alert and put it on the timeline; a new service joins the affected ones. False
    when it was linked already (the caller adds a 'fired again' entry if it wants)."""
    exists = session.execute(select(AlertLink.id).where(AlertLink.incident_id == row.id, AlertLink.fingerprint == fingerprint)).first()
    if exists:
        return False
    session.add(AlertLink(incident_id=row.id, alert_id=alert_id, fingerprint=fingerprint, alertname=alertname, service=service,
                          linked_at=clock.utcnow()))
    _snapshot.forget(session)
    if service and service not in (row.services or []) and catalog.find_service(session, name=service):
        row.services = [*row.services, service]
    verb = "fired" if status == "firing" else status
    timeline.add(session, row.id, kind=f"alert.{'fired' if status == 'firing' else 'linked'}", who=actor_name,
                 summary=f"Alert {alertname} {verb}" + (f" on {service}" if service else ""),
                 link=f"/alerts/{alert_id}" if alert_id else None, details={"fingerprint": fingerprint, "alert_id": alert_id})
    session.flush()
    return True


def merge(session: Session, *, incident_id: int, into_id: int, actor: Actor) -> IncidentRead:
    """Merge incident `incident_id` into `into_id`: both timelines are kept (the survivor's
    timeline shows both), its alerts and services join the survivor, and it is closed as
    `merged`. Permission `incident.update` on both. Audited."""
    src = _row(session, incident_id)
    require_on(actor, "incident.update", src)
    _snapshot.forget(session)
    dst = _row(session, into_id)
    require_on(actor, "incident.update", dst)
    if incident_id == into_id:
        raise InvalidInput("an incident cannot be merged into itself; name two different incidents", field="into")
    for r in (src, dst):
        if Status(r.status) not in OPEN:
            raise Conflict(f"incident #{r.id} is {r.status}; only open incidents can be merged", code="incidents.closed")
    now = clock.utcnow()
    have = set(session.execute(select(AlertLink.fingerprint).where(AlertLink.incident_id == dst.id)).scalars())
    for link in session.execute(select(AlertLink).where(AlertLink.incident_id == src.id)).scalars().all():
        if link.fingerprint not in have:
            session.add(AlertLink(incident_id=dst.id, alert_id=link.alert_id, fingerprint=link.fingerprint,
                                  alertname=link.alertname, service=link.service, linked_at=now))
    dst.services = list(dict.fromkeys([*dst.services, *src.services]))
    sevs = list(settings.severities(session))
    if sevs.index(src.severity) < sevs.index(dst.severity):  # the survivor takes the worse severity
        timeline.add(session, dst.id, kind="severity", who=actor.name, summary=f"Severity {dst.severity} → {src.severity} (merge)",
                     details={"from": dst.severity, "to": src.severity})
        dst.severity = src.severity
    dst.started_at = min(dst.started_at, src.started_at)
    src.status, src.merged_into_id, src.closed_at, src.updated_at, dst.updated_at = Status.MERGED.value, dst.id, now, now, now
    timeline.add(session, src.id, kind="merged.into", who=actor.name, summary=f"Merged into incident #{dst.id}",
                 link=f"/incidents/{dst.id}", details={"into": dst.id})
    timeline.add(session, dst.id, kind="merged.from", who=actor.name, summary=f"Incident #{src.id} merged into this one: {src.title}",
                 link=f"/incidents/{src.id}", details={"from": src.id})
    audit.record(session, actor=actor, action="incident.merge", target=f"incident:{src.id}", after={"into": dst.id})
    session.flush()
    return _read(session, dst)


def page_again(session: Session, *, incident_id: int, actor: Actor) -> IncidentRead:
    """Page the affected services' on-call again (e.g. nobody acknowledged). Permission `incident.update`."""
    row = _row(session, incident_id)
    require_on(actor, "incident.update", row)
    if Status(row.status) not in OPEN:
        raise Conflict(f"incident #{row.id} is {row.status}; nobody needs paging", code="incidents.closed")
    paging.page(session, row, by=actor, reason="paged again")
    audit.record(session, actor=actor, action="incident.page", target=f"incident:{row.id}")
    session.flush()
    return _read(session, row)
