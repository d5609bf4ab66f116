"""Public functions of the alert pipeline; the only module other code calls into.

Ingest, read, acknowledge/resolve/mark, route explanation, fire drills, the quality report,
and (re-exported from their modules) silences, routing and receivers. Every function takes
the session first and never commits; mutating ones check permission and write an audit event
(ingest excepted: it is machine data, recorded in each alert's history instead).
"""

from __future__ import annotations

import concurrent.futures

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.alerting import _routing, escalations, ingest as _ingest, routing, suppress
from watchkeeper.labels import fingerprint as fingerprint_of
from watchkeeper.alerting.events import AlertAcknowledged, AlertStatusChanged
from watchkeeper.alerting.groups import FlushResult, flush_group, groups_of_alert
from watchkeeper.alerting.models import Alert, AlertEvent, AlertGroup, Drill, GroupMember
from watchkeeper.alerting.routing import (  # noqa: F401 - re-exported
    apply_config, current_routing, delete_receiver, list_receivers, put_receiver, put_routing, reset_routing,
)
from watchkeeper.alerting.schemas import (
    AlertEventRead, AlertFilter, AlertIn, AlertRead, DrillRead, GroupRead, IngestResult, QualityRow, Quality, RouteExplain,
)
from watchkeeper.alerting.silences import create_silence, expire_silence, get_silence, list_silences  # noqa: F401
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.notify import service as notify

MAX_BATCH = 5000
DRILL_ALERTNAME = suppress.DRILL_ALERTNAME
DRILL_EVIDENCE_WINDOW = dt.timedelta(days=30)

__all__ = [
    "ingest", "list_alerts", "get_alert", "history", "acknowledge", "resolve", "mark", "explain_route", "start_drill", "simulate",
    "list_drills", "expire_drills", "quality_report", "flush_group", "FlushResult", "create_silence", "expire_silence",
    "list_silences", "get_silence", "list_groups", "notifications_for_alert", "on_signal_changed",
]


# ---------------------------------------------------------------- ingest


def _check_ingest(session: Session, actor: Actor, items: Iterable[_ingest.Item]) -> None:
    if actor.can("alert.ingest"):
        return
    services = sorted({it.labels.get("service", "") for it in items})
    for name in services:
        svc = catalog.find_service(session, name=name) if name else None
        require(actor, "alert.ingest", team=svc.team if svc else None, service=name or None)


def ingest(session: Session, *, alerts: list[AlertIn], source: str, actor: Actor) -> IngestResult:
    """Store a batch of alerts from `source` (api, alertmanager, grafana, internal).

    Permission `alert.ingest` (a token with scope `ingest` has it; a team-scoped grant covers
    alerts labelled with its services). Raises InvalidInput for an empty or oversized batch.
    Writes alerts, their history, group membership and flush jobs; publishes
    AlertStatusChanged per transition. Not audited (machine data). Does not commit."""
    if not alerts:
        raise InvalidInput("the batch has no alerts; send at least one", field="alerts")
    if len(alerts) > MAX_BATCH:
        raise InvalidInput(f"the batch has {len(alerts)} alerts; send at most {MAX_BATCH} per request", field="alerts")
    now = clock.utcnow()
    items = _ingest.normalise(alerts, now=now)
    _check_ingest(session, actor, items.values())
    result, _ = _ingest.store(session, items=items, source=source, now=now)
    return result


def submit_ingest(*, session_factory, alerts: list[AlertIn], source: str, actor: Actor) -> concurrent.futures.Future:
    """Check a batch and hand it to this process's group-commit writer (see writer.py). The
    returned future resolves to the IngestResult once the batch is committed (or raises).
    A session is opened only when the actor's permission depends on the services the batch
    names (a team-scoped grant), so the common case touches no database before the writer."""
    from watchkeeper.alerting import writer

    if not alerts:
        raise InvalidInput("the batch has no alerts; send at least one", field="alerts")
    if len(alerts) > MAX_BATCH:
        raise InvalidInput(f"the batch has {len(alerts)} alerts; send at most {MAX_BATCH} per request", field="alerts")
    items = _ingest.normalise(alerts, now=clock.utcnow())
    if not actor.can("alert.ingest"):
        with session_factory() as session:
            _check_ingest(session, actor, items.values())
            session.commit()
    return writer.writer_for(session_factory).submit_nowait(items, source=source)


def ingest_batched(*, session_factory, alerts: list[AlertIn], source: str, actor: Actor, timeout: float = 60) -> IngestResult:
    """`submit_ingest` and wait: returns once the batch is committed."""
    return submit_ingest(session_factory=session_factory, alerts=alerts, source=source, actor=actor).result(timeout=timeout)


def on_signal_changed(session: Session, event) -> None:
    """Subscriber for monitoring's SignalChanged (probes, heartbeats, rules, SLOs, readiness):
    the signal becomes an alert of source "internal" in the publisher's transaction."""
    labels = {k: str(v) for k, v in (event.labels or {}).items()}
    labels.setdefault("alertname", event.name)
    if event.service:
        labels.setdefault("service", event.service)
    if event.severity:
        labels.setdefault("severity", event.severity)
    labels.setdefault("signal_source", event.source)
    alert = AlertIn(
        labels=labels, annotations={k: str(v) for k, v in (event.annotations or {}).items()},
        status="firing" if event.firing else "resolved", startsAt=event.starts_at,
        endsAt=event.ends_at if not event.firing else None, generatorURL=event.generator_url,
    )
    now = clock.utcnow()
    _ingest.store(session, items=_ingest.normalise([alert], now=now), source="internal", now=now)


# ---------------------------------------------------------------- reads


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}; `watchkeeper alert list` shows them", code="alert.not_found")
    return alert


def _visible(actor: Actor, services: dict[str, str | None], alert: Alert) -> bool:
    return _sees_service(actor, services, alert.service)


def _sees_service(actor: Actor, services: dict[str, str | None], service: str | None) -> bool:
    """Whether `actor` may see alerts (and groups, and their counts) of `service`: every list
    of the alert pipeline filters by this one rule."""
    if not service:
        return actor.can("alert.read")
    return actor.sees(team=services.get(service), service=service)


def _teams(session: Session) -> dict[str, str]:
    return {s.name: s.team for s in catalog.list_services(session, actor=Actor.system("alerting", "system"))}


def list_alerts(session: Session, *, filter: AlertFilter, actor: Actor, group_id: int | None = None) -> list[AlertRead]:
    """Alerts the actor may see, newest activity first."""
    require(actor, "alert.read")
    query = select(Alert).order_by(Alert.last_received_at.desc(), Alert.id.desc()).limit(filter.limit)
    if filter.status:
        query = query.where(Alert.status == filter.status.value)
    if filter.state:
        query = query.where(Alert.state == filter.state.value, Alert.status == "firing")
    if filter.service:
        query = query.where(Alert.service == filter.service)
    if filter.alertname:
        query = query.where(Alert.alertname == filter.alertname)
    if filter.q:
        query = query.where(or_(Alert.alertname.ilike(f"%{filter.q}%"), Alert.service.ilike(f"%{filter.q}%")))
    if group_id is not None:
        query = query.where(Alert.id.in_(select(GroupMember.alert_id).where(GroupMember.group_id == group_id)))
    teams = _teams(session)
    return [AlertRead.model_validate(a) for a in session.execute(query).scalars() if _visible(actor, teams, a)]


def get_alert(session: Session, *, alert_id: int, actor: Actor) -> AlertRead:
    alert = _get(session, alert_id)
    team = _teams(session).get(alert.service or "")
    require(actor, "alert.read", team=team, service=alert.service)
    return AlertRead.model_validate(alert)


def alerts_of_link(session: Session, *, kind: str, ident: int) -> list[AlertRead]:
    """The alerts a signed one-click link names (links.py): a group's members ("g"), oldest
    first, or its one alert. The verified signature is the credential, so no actor."""
    if kind == "g":
        if session.get(AlertGroup, ident) is None:
            return []
        rows = session.execute(select(Alert).join(GroupMember, GroupMember.alert_id == Alert.id)
                               .where(GroupMember.group_id == ident).order_by(Alert.id)).scalars()
        return [AlertRead.model_validate(a) for a in rows]
    alert = session.get(Alert, ident)
    return [AlertRead.model_validate(alert)] if alert else []


def find_alert(session: Session, *, fingerprint: str) -> AlertRead | None:
    alert = session.execute(select(Alert).where(Alert.fingerprint == fingerprint)).scalar_one_or_none()
    return AlertRead.model_validate(alert) if alert else None


def history(session: Session, *, alert_id: int, actor: Actor) -> list[AlertEventRead]:
    """An alert's state changes, oldest first. Raises NotFound, PermissionDenied."""
    get_alert(session, alert_id=alert_id, actor=actor)
    rows = session.execute(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.at, AlertEvent.id)).scalars()
    return [AlertEventRead.model_validate(r) for r in rows]


def notifications_for_alert(session: Session, *, alert_id: int, actor: Actor):
    """Every notification about an alert, with its attempts. Raises NotFound, PermissionDenied."""
    get_alert(session, alert_id=alert_id, actor=actor)
    return notify.for_refs(session, refs=[f"group:{g}" for g in groups_of_alert(session, alert_id=alert_id)])


def list_groups(session: Session, *, actor: Actor, active_only: bool = True) -> list[GroupRead]:
    """Alert groups of the services the actor may see, newest first (at most 500)."""
    require(actor, "alert.read")
    query = select(AlertGroup).order_by(AlertGroup.id.desc()).limit(500)
    if active_only:
        query = query.where(AlertGroup.next_flush_at.is_not(None))
    teams = _teams(session)
    return [GroupRead.model_validate(g) for g in session.execute(query).scalars() if _sees_service(actor, teams, g.service)]


# ---------------------------------------------------------------- human actions


def retry_notification(session: Session, *, outbox_id: int, actor: Actor):
    """Retry a dead or unconfirmed notification; permission is checked on the group's service."""
    row = notify.lookup_outbox(session, outbox_id=outbox_id)
    service = team = None
    if row.ref and row.ref.startswith("group:"):
        group = session.get(AlertGroup, int(row.ref.split(":", 1)[1]))
        service = group.service if group else None
        svc = catalog.find_service(session, name=service) if service else None
        team = svc.team if svc else None
    return notify.retry(session, outbox_id=outbox_id, actor=actor, team=team, service=service)


def _require_on(session: Session, actor: Actor, permission: str, alert: Alert) -> None:
    svc = catalog.find_service(session, name=alert.service) if alert.service else None
    require(actor, permission, team=svc.team if svc else None, service=alert.service)


def _target_alerts(session: Session, *, alert_ids: list[int] | None = None, group_id: int | None = None) -> list[Alert]:
    if group_id is not None:
        return list(session.execute(
            select(Alert).join(GroupMember, GroupMember.alert_id == Alert.id)
            .where(GroupMember.group_id == group_id, Alert.status == "firing").order_by(Alert.id)).scalars())
    return [_get(session, i) for i in alert_ids or []]


def acknowledge(session: Session, *, alert_ids: list[int] | None = None, group_id: int | None = None, actor: Actor,
                note: str | None = None) -> list[AlertRead]:
    """Record that `actor` is on it. Already-acknowledged alerts are left as they are. A fire
    drill's alert passes its drill when acknowledged before the deadline. The on-call
    escalations of the alerts' groups are acknowledged (they stop paging). Audited per alert;
    publishes AlertAcknowledged. Does not commit."""
    now = clock.utcnow()
    out = []
    targets = _target_alerts(session, alert_ids=alert_ids, group_id=group_id)
    for alert in targets:
        _require_on(session, actor, "alert.ack", alert)
        if alert.acked_at is None and alert.drill_id:
            _check_drill_ack(session, alert, actor)
        if alert.acked_at is None:
            alert.acked_at, alert.acked_by = now, actor.name
            session.add(AlertEvent(alert_id=alert.id, at=now, kind="acked", actor=actor.name, detail={"note": note} if note else None))
            session.flush()
            audit.record(session, actor=actor, action="alert.ack", target=f"alert:{alert.fingerprint}",
                         after={"alertname": alert.alertname, "service": alert.service}, note=note)
            events.publish(session, AlertAcknowledged(alert.id, alert.fingerprint, actor.name))
            if alert.drill_id:
                _complete_drill(session, alert, actor, now)
        out.append(AlertRead.model_validate(alert))
    # The escalations paging about these alerts' groups stop (escalations.py).
    escalations.on_ack(session, alert_ids=[a.id for a in targets], group_id=group_id, actor=actor, note=note)
    return out


def resolve(session: Session, *, alert_ids: list[int] | None = None, group_id: int | None = None, actor: Actor,
            note: str | None = None) -> list[AlertRead]:
    """Mark firing alerts resolved by hand (the resolution is notified like any other). If
    the source keeps sending the same occurrence it stays resolved; a new occurrence fires
    again. Audited. Does not commit."""
    now = clock.utcnow()
    woken, out = [], []
    for alert in _target_alerts(session, alert_ids=alert_ids, group_id=group_id):
        _require_on(session, actor, "alert.resolve", alert)
        if alert.status == "firing":
            alert.status, alert.ends_at = "resolved", now
            session.add(AlertEvent(alert_id=alert.id, at=now, kind="resolved", actor=actor.name, detail={"note": note} if note else None))
            session.flush()
            audit.record(session, actor=actor, action="alert.resolve", target=f"alert:{alert.fingerprint}", note=note)
            events.publish(session, AlertStatusChanged(alert.id, alert.fingerprint, alert.alertname, "resolved", alert.service, alert.severity))
            woken.append(alert.id)
        out.append(AlertRead.model_validate(alert))
    if woken:
        _ingest.schedule_groups(session, join={}, woken=woken, now=now)
    return out


def mark(session: Session, *, alert_ids: list[int] | None = None, group_id: int | None = None, quality: Quality,
         actor: Actor, note: str | None = None) -> list[AlertRead]:
    """Record whether an alert was worth a page (actionable) or not (noise): the input of the
    quality report. Marking actionable also acknowledges. Audited. Does not commit."""
    now = clock.utcnow()
    quality = Quality(quality)
    out = []
    for alert in _target_alerts(session, alert_ids=alert_ids, group_id=group_id):
        _require_on(session, actor, "alert.mark", alert)
        before = alert.quality
        alert.quality, alert.quality_by = quality.value, actor.name
        session.add(AlertEvent(alert_id=alert.id, at=now, kind=f"marked_{quality.value}", actor=actor.name,
                               detail={"note": note} if note else None))
        session.flush()
        audit.record(session, actor=actor, action="alert.mark", target=f"alert:{alert.fingerprint}",
                     before={"quality": before}, after={"quality": quality.value}, note=note)
        out.append(AlertRead.model_validate(alert))
    if quality == Quality.ACTIONABLE:
        acknowledge(session, alert_ids=[a.id for a in out if a.acked_at is None], actor=actor, note=note)
        out = [AlertRead.model_validate(_get(session, a.id)) for a in out]
    return out


# ---------------------------------------------------------------- routing explained


def explain_route(session: Session, *, labels: dict[str, str], actor: Actor) -> RouteExplain:
    """Where an alert with these labels would go and why: every route it reaches (with the
    trail of matching routes), its group, and whether something would suppress it now.
    Raises PermissionDenied."""
    require(actor, "routing.read")
    return _explain(session, labels)


def _explain(session: Session, labels: dict[str, str]) -> RouteExplain:
    if not labels.get("alertname"):
        labels = {"alertname": "Example", **labels}
    loaded = routing.load(session)
    service = labels.get("service")
    out = []
    for r in _routing.route(loaded.tree, labels):
        out.append({
            "route": r.path, "receiver": r.receiver, "group_by": list(r.group_by),
            "group_labels": r.group_labels(labels, service), "group_wait": r.group_wait.total_seconds(),
            "group_interval": r.group_interval.total_seconds(), "repeat_interval": r.repeat_interval.total_seconds(),
            "why": list(r.trail), "channels": _channel_kinds(session, r.receiver, service),
        })
    fp = fingerprint_of(labels)
    reason = suppress.Chain(session, clock.utcnow(), ingest_only=False).check(labels, fingerprint=fp)
    return RouteExplain(labels=labels, fingerprint=fp, service=service, routes=out,
                        suppressed=f"{reason.kind}: {reason.message}" if reason else None)


def reapply_suppression(session: Session, *, service: str | None = None) -> int:
    """Judge every firing alert (of `service`, or all) against the suppressors now and record
    each change of state at once (a window added over a firing outage marks all its alerts, not
    only those that happen to refire). Alerts no longer suppressed are woken for their groups'
    next flush. Returns how many changed. Does not commit."""
    from watchkeeper.alerting.ingest import schedule_groups

    now = clock.utcnow()
    chain = suppress.Chain(session, now, ingest_only=False)
    query = select(Alert.id, Alert.fingerprint, Alert.labels, Alert.state, Alert.state_ref).where(Alert.status == "firing")
    if service is not None:
        query = query.where(Alert.service == service)
    changes, history, woken = [], [], []
    for a in session.execute(query.order_by(Alert.id)):
        reason = chain.check(a.labels, fingerprint=a.fingerprint)
        state = reason.kind if reason else "active"
        if state == a.state and (reason is None or reason.ref == a.state_ref):
            continue
        changes.append({"b_id": a.id, "b_state": state, "b_reason": reason.message if reason else None,
                        "b_ref": reason.ref if reason else None})
        history.append({"alert_id": a.id, "at": now, "kind": state, "actor": None,
                        "detail": {"ref": reason.ref, "message": reason.message} if reason else {"message": "no longer suppressed"}})
        if reason is None:
            woken.append(a.id)
    if changes:
        session.execute(update(Alert.__table__).where(Alert.__table__.c.id == bindparam("b_id"))
                        .values(state=bindparam("b_state"), state_reason=bindparam("b_reason"), state_ref=bindparam("b_ref")),
                        changes)
        session.execute(AlertEvent.__table__.insert(), history)
    if woken:
        schedule_groups(session, join={}, woken=woken, now=now)
    return len(changes)


def on_window_changed(session: Session, event) -> None:
    """Subscriber: a maintenance window changed (maintenance.events.WindowChanged)."""
    reapply_suppression(session, service=event.service)


def _channel_kinds(session: Session, receiver: str | None, service: str | None) -> list[str]:
    if not receiver:
        return []
    if escalations.is_policy(receiver):  # pages people through an on-call escalation policy
        policy, _error = escalations.policy_for(session, receiver, service)
        return [f"escalation policy {policy}"] if policy else []
    return [c.get("type") for c in (routing.receiver_channels(session, receiver) or [])]


def simulate(session: Session, *, alerts: list[AlertIn], actor: Actor) -> list[RouteExplain]:
    """What ingesting `alerts` would do, without storing anything: for each distinct alert, the
    routes and receivers it would reach and whether something would suppress it now. Raises
    PermissionDenied."""
    require(actor, "routing.read")
    items = _ingest.normalise(alerts, now=clock.utcnow())
    return [_explain(session, item.labels) for item in items.values()]


# ---------------------------------------------------------------- fire drills


def start_drill(session: Session, *, service: str, actor: Actor, deadline: dt.timedelta = dt.timedelta(minutes=15)) -> DrillRead:
    """Send a test alert for `service` through its real route. The drill passes when a person
    acknowledges the alert before `deadline`; it fails otherwise. Raises ServiceNotFound, and
    Conflict when the service's alerts reach no receiver. Audited. Does not commit."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "alert.drill", team=svc.team, service=service)
    if deadline < dt.timedelta(minutes=1) or deadline > dt.timedelta(days=1):
        raise InvalidInput("a drill deadline must be between 1m and 1d", field="deadline")
    now = clock.utcnow()
    drill = Drill(service=service, fingerprint="", status="pending", receivers=[], started_at=now,
                  deadline_at=now + deadline, started_by=actor.name)
    session.add(drill)
    session.flush()
    labels = {"alertname": DRILL_ALERTNAME, "service": service, "severity": "critical", "drill": str(drill.id)}
    routes = _routing.route(routing.load(session).tree, labels)
    receivers = sorted({r.receiver for r in routes if r.receiver and routing.receiver_channels(session, r.receiver)})
    if not receivers:
        raise Conflict(f"alerts of '{service}' reach no receiver, so a drill cannot reach anyone; "
                       "configure alerting.receivers and alerting.route in watchkeeper.yaml", code="drill.no_receiver")
    alert = AlertIn(labels=labels, annotations={
        "summary": f"Fire drill for {service}: acknowledge this alert before {drill.deadline_at:%H:%M} UTC to pass",
        "description": f"Started by {actor.name}. This tests that alerts for {service} reach a person."})
    items = _ingest.normalise([alert], now=now)
    _ingest.store(session, items=items, source="drill", now=now, drill_id=drill.id)
    drill.fingerprint, drill.receivers = next(iter(items)), receivers
    session.flush()
    audit.record(session, actor=actor, action="alert.drill", target=f"service:{service}",
                 after={"drill": drill.id, "receivers": receivers, "deadline_at": drill.deadline_at})
    return DrillRead.model_validate(drill)


DRILL_ACK_SOURCES = ("ui",)  # the signed link in the page and the signed-in web UI


def _drill_deliveries(session: Session, alert: Alert, drill: Drill) -> list:
    """The notifications of the drill's alert that were delivered to one of its receivers."""
    group_ids = session.execute(select(GroupMember.group_id).where(GroupMember.alert_id == alert.id)).scalars().all()
    return [o for o in notify.for_refs(session, refs=[f"group:{g}" for g in group_ids])
            if o.status == "sent" and o.receiver in drill.receivers]


def _check_drill_ack(session: Session, alert: Alert, actor: Actor) -> None:
    """A drill proves that a page reaches a person: its alert may be acknowledged only after a
    notification was delivered, through a channel a responder uses (the page's signed link or
    the web UI), by someone other than whoever started the drill. Raises Conflict otherwise;
    the drill stays pending."""
    drill = session.get(Drill, alert.drill_id)
    if drill is None or drill.status != "pending":
        return
    if actor.source not in DRILL_ACK_SOURCES:
        raise Conflict(f"fire drill {drill.id} must be acknowledged from the page it sent (its link) or in the web UI; "
                       f"an acknowledgement from the {actor.source} does not show that the page reached a person",
                       code="drill.ack_channel")
    if actor.name == drill.started_by:
        raise Conflict(f"{actor.name} started fire drill {drill.id}; someone who received the page must acknowledge it",
                       code="drill.ack_self")
    if not _drill_deliveries(session, alert, drill):
        raise Conflict(f"no notification of fire drill {drill.id} has been delivered yet (to {', '.join(drill.receivers)}); "
                       "acknowledge it from the page when it arrives", code="drill.not_delivered")


def _complete_drill(session: Session, alert: Alert, actor: Actor, now: dt.datetime) -> None:
    drill = session.get(Drill, alert.drill_id)
    if drill is None or drill.status != "pending":
        return
    drill.acked_at, drill.acked_by = now, actor.name
    drill.status = "passed" if now <= drill.deadline_at else "failed"
    session.flush()
    delivered = _drill_deliveries(session, alert, drill)
    audit.record(session, actor=actor, action=f"drill.{drill.status}", target=f"service:{drill.service}",
                 after={"drill": drill.id, "acked_at": now, "acked_via": actor.source,
                        "delivered": [{"receiver": o.receiver, "channel": o.channel_kind, "sent_at": o.sent_at,
                                       "outbox": o.id} for o in delivered]})
    resolve(session, alert_ids=[alert.id], actor=actor, note=f"fire drill {drill.status}")


def expire_drills(session: Session) -> int:
    """Fail pending drills whose deadline passed (the worker runs this). Audited per drill."""
    now = clock.utcnow()
    system = Actor.system("worker", "worker")
    count = 0
    for drill in session.execute(select(Drill).where(Drill.status == "pending", Drill.deadline_at < now)).scalars():
        drill.status = "failed"
        audit.record(session, actor=system, action="drill.failed", target=f"service:{drill.service}",
                     after={"drill": drill.id, "reason": "nobody acknowledged before the deadline"})
        alert = session.execute(select(Alert).where(Alert.fingerprint == drill.fingerprint)).scalar_one_or_none()
        if alert is not None and alert.status == "firing":
            resolve(session, alert_ids=[alert.id], actor=system, note="fire drill failed: deadline passed")
        count += 1
    session.flush()
    return count


def list_drills(session: Session, *, actor: Actor, service: str | None = None, limit: int = 100) -> list[DrillRead]:
    """Fire drills of the services the actor may see, newest first. Raises PermissionDenied."""
    require(actor, "alert.read")
    query = select(Drill).order_by(Drill.started_at.desc(), Drill.id.desc()).limit(limit)
    if service:
        query = query.where(Drill.service == service)
    teams = _teams(session) if not actor.superuser else {}
    return [DrillRead.model_validate(d) for d in session.execute(query).scalars()
            if actor.superuser or _sees_service(actor, teams, d.service)]


def last_passed_drill(session: Session, *, service: str) -> DrillRead | None:
    row = session.execute(select(Drill).where(Drill.service == service, Drill.status == "passed")
                          .order_by(Drill.acked_at.desc()).limit(1)).scalar_one_or_none()
    return DrillRead.model_validate(row) if row else None


# ---------------------------------------------------------------- quality


def quality_report(session: Session, *, actor: Actor, since: dt.datetime | None = None,
                   service: str | None = None) -> list[QualityRow]:
    """Per alert name: how often it fired, how often someone acted on it (acknowledged or
    marked actionable), how often it was marked noise. Noisiest (most fired, least acted on)
    first. Counts only alerts of services the actor may see."""
    require(actor, "alert.read")
    since = since or clock.utcnow() - dt.timedelta(days=30)
    query = (select(Alert.service, Alert.alertname, AlertEvent.kind, func.count())
             .join(AlertEvent, AlertEvent.alert_id == Alert.id)
             .where(AlertEvent.at >= since, AlertEvent.kind.in_(("fired", "acked", "marked_actionable", "marked_noise")),
                    Alert.drill_id.is_(None))
             .group_by(Alert.service, Alert.alertname, AlertEvent.kind))
    if service:
        query = query.where(Alert.service == service)
    teams = _teams(session)
    table: dict[str, dict[str, int]] = {}
    for svc, name, kind, count in session.execute(query):
        if _sees_service(actor, teams, svc):
            counts = table.setdefault(name, {})
            counts[kind] = counts.get(kind, 0) + count
    rows = []
    for name, c in table.items():
        fired = c.get("fired", 0)
        acted = min(max(c.get("acked", 0), c.get("marked_actionable", 0)), fired) if fired else max(c.get("acked", 0), c.get("marked_actionable", 0))
        noise = c.get("marked_noise", 0)
        rows.append(QualityRow(alertname=name, fired=fired, acted_on=acted, noise=noise,
                               unrated=max(fired - acted - noise, 0),
                               action_rate=round(acted / fired, 3) if fired else None))
    rows.sort(key=lambda r: (-(r.fired - r.acted_on), -r.noise, r.alertname))
    return rows
