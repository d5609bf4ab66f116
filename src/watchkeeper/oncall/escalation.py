"""Escalation execution: a policy pages people, level by level, until someone acknowledges.

An escalation is a row of `oncall_escalation` (state: the policy's levels snapshotted at the
start, the pointer `level`/`loop` at the step due next, `seq`, the status) and at most one
live timer: a queue job `oncall.step` with `run_after` = when the step is due, the dedupe key
`oncall.step:e<id>:l<level>:r<loop>:s<seq>` and the payload `{escalation_id, seq}`. Workers
claim it with a lease like any job; when a worker dies, the liveness sweep hands its claim
back in seconds (worker/liveness.py).

Exactly once. A step runs in one transaction with its job's completion: it locks the row
(SELECT … FOR UPDATE on PostgreSQL; SQLite serialises writers), does nothing unless the row is
still active at the job's `seq`, writes one outbox row per (escalation, level, repeat, person,
contact method) — the idempotency key — moves the pointer (seq + 1) and queues the next
timer. A crash before the commit leaves nothing behind (the job is taken back and runs again);
after it, the job is done and the pointer has moved, so a second run of the same job, or a
stale timer, finds another `seq` and does nothing. Acknowledging, resolving, escalating and
reassigning all move `seq` too, which is how they cancel the pending timer.

The starter (the alert pipeline, one layer up) names what the escalation is about with an
opaque `ref` ("group:12"), a summary and an acknowledgement link; this module never imports
it. People are reached through the catalog: their email (mailed through WATCHKEEPER_SMTP_*)
and their webhook contact methods. Every page goes through the notify outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.config import Settings
from watchkeeper.db.engine import is_postgres
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.notify import service as notify
from watchkeeper.notify.schemas import Message
from watchkeeper.oncall import policies
from watchkeeper.oncall import service as schedules
from watchkeeper.oncall.models import Escalation, EscalationEvent
from watchkeeper.oncall.events import ResponseTargetMissed
from watchkeeper.oncall.schemas import (
    EscalationEventRead, EscalationLevel, EscalationRead, PolicyRead, ResponseRow, ResponseTarget,
)
from watchkeeper.queue import service as queue

log = logging.getLogger(__name__)

STEP_JOB = "oncall.step"
SLA_JOB = "oncall.sla_check"
OPEN = ("active", "acknowledged", "exhausted")
SYSTEM = Actor.system("oncall", "worker")
MAX_LIST = 500


class EscalationNotFound(NotFound):
    code = "oncall.escalation_not_found"


# ---------------------------------------------------------------------------- reading


def _read(row: Escalation, events_: list[EscalationEvent] | None = None) -> EscalationRead:
    pending = row.status == "active" and row.next_step_at is not None
    return EscalationRead(
        id=row.id, ref=row.ref, service=row.service, policy=row.policy, summary=row.summary, severity=row.severity,
        status=row.status, level=row.last_level + 1 if row.last_level is not None else None, loop=row.loop,
        next_level=row.level + 1 if pending else None, next_step_at=row.next_step_at if pending else None,
        started_at=row.started_at, acked_at=row.acked_at, acked_by=row.acked_by, resolved_at=row.resolved_at,
        ack_target=dt.timedelta(seconds=row.ack_target_s) if row.ack_target_s is not None else None,
        resolve_target=dt.timedelta(seconds=row.resolve_target_s) if row.resolve_target_s is not None else None,
        ack_breached=row.ack_breached_at is not None, resolve_breached=row.resolve_breached_at is not None,
        events=[EscalationEventRead(at=e.at, kind=e.kind, level=e.level + 1 if e.level is not None else None, loop=e.loop,
                                    people=list(e.people or []), actor=e.actor, detail=e.detail) for e in events_ or []],
    )


def _row(session: Session, escalation_id: int, *, lock: bool = False) -> Escalation:
    query = select(Escalation).where(Escalation.id == escalation_id).execution_options(populate_existing=True)
    if lock and is_postgres(session):
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise EscalationNotFound(f"no escalation with id {escalation_id}; `watchkeeper oncall escalation list` shows them")
    return row


def _events(session: Session, escalation_id: int) -> list[EscalationEvent]:
    return list(session.execute(select(EscalationEvent).where(EscalationEvent.escalation_id == escalation_id)
                                .order_by(EscalationEvent.at, EscalationEvent.id)).scalars())


def get_escalation(session: Session, *, escalation_id: int, actor: Actor) -> EscalationRead:
    """One escalation with its history. `oncall.read` on its service's team."""
    row = _row(session, escalation_id)
    require(actor, "oncall.read", team=row.team, service=row.service)
    return _read(row, _events(session, row.id))


def list_escalations(session: Session, *, actor: Actor, status: str | None = None, service: str | None = None,
                     limit: int = 100) -> list[EscalationRead]:
    """Escalations the actor may read, newest first; `status` "open" means not resolved."""
    require(actor, "oncall.read")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}", field="limit")
    query = select(Escalation).order_by(Escalation.id.desc()).limit(limit)
    if status == "open":
        query = query.where(Escalation.status.in_(OPEN))
    elif status:
        if status not in (*OPEN, "resolved"):
            raise InvalidInput("status is one of open, active, acknowledged, exhausted, resolved", field="status")
        query = query.where(Escalation.status == status)
    if service:
        query = query.where(Escalation.service == service)
    return [_read(r) for r in session.execute(query).scalars() if actor.can("oncall.read", team=r.team, service=r.service)]


def open_for(session: Session, *, refs: list[str]) -> dict[str, EscalationRead]:
    """The open escalation of each ref that has one (for the starter, which checked)."""
    if not refs:
        return {}
    rows = session.execute(select(Escalation).where(Escalation.open_ref.in_(refs))).scalars()
    return {r.ref: _read(r) for r in rows}


# ---------------------------------------------------------------------------- targets and contacts


def resolve_targets(session: Session, level: EscalationLevel, *, at: dt.datetime) -> list[str]:
    """The people a level's targets name at `at`, in order, each once: persons as given,
    schedules' on-call person at `at` (the final timeline), teams' members."""
    people: list[str] = []
    for target in level.targets:
        if target.kind == "person":
            people.append(target.name)
        elif target.kind == "schedule":
            try:
                who = schedules.who_at(session, name=target.name, at=at).person
            except NotFound:
                who = None  # the schedule was deleted after the policy named it
            if who:
                people.append(who)
        else:
            people.extend(policies.team_members(session, target.name))
    return list(dict.fromkeys(people))


def contacts(session: Session, handle: str, settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """(method, outbox channel) for each way to reach the person: their email addresses
    (through WATCHKEEPER_SMTP_HOST, when set) and their webhook contact methods."""
    try:
        person = teams.lookup_person(session, handle=handle)
    except NotFound:
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    emails = [person.email] if person.email else []
    emails += [c.address for c in person.contact_methods if c.kind == "email"]
    if settings.smtp_host:
        for index, address in enumerate(dict.fromkeys(emails)):
            out.append((f"email{index}", {
                "type": "email", "to": [address], "from": settings.smtp_from, "smtp_host": settings.smtp_host,
                "smtp_port": settings.smtp_port, "security": settings.smtp_security, "username": settings.smtp_username,
                "password_env": settings.smtp_password_env}))
    hooks = [c.address for c in person.contact_methods if c.kind == "webhook"]
    for index, url in enumerate(dict.fromkeys(hooks)):
        if url.startswith(("http://", "https://")):
            out.append((f"webhook{index}", {"type": "webhook", "url": url}))
    return out


# ---------------------------------------------------------------------------- starting


def _team_of(session: Session, service: str | None, policy: PolicyRead) -> str:
    svc = catalog.find_service(session, name=service) if service else None
    return svc.team if svc else policy.team


def start(session: Session, *, ref: str, policy: str, service: str | None, summary: str, severity: str | None = None,
          ack_url: str | None = None, actor: Actor = SYSTEM) -> EscalationRead | None:
    """Start escalating `ref` with `policy` (level 1 is paged at once, by the worker). Returns
    None when `ref` already has an open escalation. For the starter (the alert pipeline),
    which decided to page; audited as `actor`. Raises NotFound for an unknown policy. Does not
    commit."""
    if session.execute(select(Escalation.id).where(Escalation.open_ref == ref)).first():
        return None
    pol = policies.policy_by_name(session, name=policy)
    now = clock.utcnow()
    earlier = 0
    if any(level.mode == "round_robin" for level in pol.levels):  # where this escalation's rotation starts
        earlier = session.execute(select(func.count()).select_from(Escalation).where(Escalation.policy == pol.name)).scalar() or 0
    target = _target_for(pol, severity)
    row = Escalation(
        ack_target_s=int(target.ack.total_seconds()) if target and target.ack else None,
        resolve_target_s=int(target.resolve.total_seconds()) if target and target.resolve else None,
        ref=ref, open_ref=ref, service=service, team=_team_of(session, service, pol), policy=pol.name,
        levels=[level.model_dump(mode="json") for level in pol.levels], repeat=pol.repeat, summary=summary[:1000],
        severity=severity, ack_url=ack_url, status="active", level=0, loop=0, seq=0, next_step_at=now, rr_offset=earlier,
        started_at=now,
    )
    nested = session.begin_nested()
    try:
        session.add(row)
        session.flush()
    except IntegrityError:  # the unique open_ref: another transaction started it first
        nested.rollback()
        return None
    nested.commit()
    session.add(EscalationEvent(escalation_id=row.id, at=now, kind="started", people=[], actor=actor.name,
                                detail={"policy": pol.name, "ref": ref}))
    _schedule(session, row, now)
    for kind, seconds in (("ack", row.ack_target_s), ("resolve", row.resolve_target_s)):
        if seconds is not None:  # a durable timer like the steps: the target is checked when it passes
            queue.enqueue(session, kind=SLA_JOB, payload={"escalation_id": row.id, "kind": kind},
                          run_after=now + dt.timedelta(seconds=seconds), dedupe_key=f"{SLA_JOB}:e{row.id}:{kind}", max_attempts=10)
    audit.record(session, actor=actor, action="oncall.escalation.start", target=f"escalation:{row.id}",
                 after={"ref": ref, "policy": pol.name, "service": service, "summary": row.summary})
    return _read(row)


def _target_for(policy: PolicyRead, severity: str | None) -> ResponseTarget | None:
    by_severity = {t.severity: t for t in policy.response_targets}
    return by_severity.get(severity or "") or by_severity.get("default")


def _schedule(session: Session, row: Escalation, when: dt.datetime) -> None:
    """Point the escalation's one live timer at `when` (seq names it)."""
    row.next_step_at = when
    session.flush()
    queue.enqueue(session, kind=STEP_JOB, payload={"escalation_id": row.id, "seq": row.seq}, run_after=when,
                  dedupe_key=f"{STEP_JOB}:e{row.id}:l{row.level}:r{row.loop}:s{row.seq}", max_attempts=10)


# ---------------------------------------------------------------------------- the step


def _level(row: Escalation, index: int) -> EscalationLevel:
    return EscalationLevel.model_validate(row.levels[index])


def _message(row: Escalation, *, level: int, loop: int, people: list[str], person: str, settings: Settings) -> Message:
    where = f"level {level + 1} of escalation policy '{row.policy}'" + (f", repeat {loop}" if loop else "")
    link = f"{settings.public_url.rstrip('/')}/api/v1/oncall/escalations/{row.id}"
    lines = [f"{row.summary}", "", f"You are paged ({where})" + (f" for service {row.service}." if row.service else ".")]
    if row.ack_url:
        lines += ["", f"Acknowledge (stops the escalation): {row.ack_url}"]
    lines += ["", f"Escalation {row.id}: {link}", f"Paged at this level: {', '.join(people)}"]
    return Message(
        subject=f"[PAGE] {row.summary}"[:200], text="\n".join(lines), short=f"PAGE: {row.summary} — ack: {row.ack_url or link}",
        data={"version": "1", "kind": "oncall.page", "escalation_id": row.id, "policy": row.policy, "level": level + 1,
              "repeat": loop, "person": person, "service": row.service, "summary": row.summary, "severity": row.severity,
              "ack_url": row.ack_url, "url": link},
    )


def _page(session: Session, row: Escalation, people: list[str], *, key: str, level: int, loop: int,
          settings: Settings) -> tuple[list[str], list[str]]:
    """Write one outbox row per person and contact method. Returns (reached, unreachable)."""
    reached, unreachable = [], []
    for person in people:
        methods = contacts(session, person, settings)
        if not methods:
            unreachable.append(person)
            continue
        message = _message(row, level=level, loop=loop, people=people, person=person, settings=settings)
        usable = 0
        for method, channel in methods:
            try:
                notify.enqueue(session, key=f"{key}:{person}:{method}", receiver=f"person:{person}", channel=channel,
                               message=message, ref=f"escalation:{row.id}")
                usable += 1
            except ValidationError as exc:  # a malformed address must not hold up the whole step
                log.warning("skipping an unusable contact method", extra={"person": person, "method": method,
                                                                         "error": str(exc).splitlines()[0]})
        (reached if usable else unreachable).append(person)
    return reached, unreachable


def _publish(session: Session, row: Escalation, kind: str, summary: str, now: dt.datetime, actor: str | None,
             details: dict[str, Any]) -> None:
    events.publish(session, events.ServiceActivity(
        kind=kind, services=(row.service,) if row.service else (), summary=summary, at=now, actor=actor,
        link=f"/api/v1/oncall/escalations/{row.id}", details={"escalation_id": row.id, "ref": row.ref, **details}))


def step(session: Session, *, escalation_id: int, seq: int, settings: Settings) -> dict[str, Any]:
    """Run the step the timer `seq` stands for (the `oncall.step` job). Does not commit."""
    try:
        row = _row(session, escalation_id, lock=True)
    except EscalationNotFound:
        return {"skipped": "escalation deleted"}
    if row.seq != seq or row.status != "active":
        return {"skipped": f"stale timer (status {row.status}, seq {row.seq} != {seq})" if row.seq != seq else row.status}
    now = clock.utcnow()
    if row.reassign_to:
        people, level, loop = [row.reassign_to], row.last_level if row.last_level is not None else 0, row.loop
        reached, unreachable = _page(session, row, people, key=f"oncall:e{row.id}:s{seq}", level=level, loop=loop,
                                     settings=settings)
        row.reassign_to = None
        timeout = _level(row, level).timeout
        kind = "reassigned"
    else:
        level, loop = row.level, row.loop
        spec = _level(row, level)
        people = resolve_targets(session, spec, at=now)
        if spec.mode == "round_robin" and people:
            people = [people[(row.rr_offset + loop) % len(people)]]
        reached, unreachable = _page(session, row, people, key=f"oncall:e{row.id}:l{level}:r{loop}", level=level,
                                     loop=loop, settings=settings)
        row.last_level = level
        timeout = spec.timeout
        kind = "notified"
        nxt, nloop = level + 1, loop
        if nxt >= len(row.levels):
            nxt, nloop = 0, loop + 1
        row.level, row.loop = nxt, nloop
    session.add(EscalationEvent(escalation_id=row.id, at=now, kind=kind, level=level, loop=loop, people=reached,
                                detail={"unreachable": unreachable} if unreachable else None))
    row.seq = seq + 1
    if row.loop > row.repeat:
        row.status, row.next_step_at = "exhausted", None
        session.add(EscalationEvent(escalation_id=row.id, at=now, kind="exhausted", people=[],
                                    detail={"message": "every level and repeat was paged; nobody acknowledged"}))
        session.flush()
    else:
        # Nobody reachable at this level: the next one is paged at once rather than after a
        # timeout nobody can answer.
        _schedule(session, row, now + timeout if reached else now)
    if reached:
        _publish(session, row, "oncall.notified",
                 f"Paged {', '.join(reached)} (level {level + 1} of {row.policy}): {row.summary}"[:300], now, None,
                 {"level": level + 1, "repeat": loop, "people": reached})
    return {"escalation_id": row.id, "level": level + 1, "repeat": loop, "paged": reached, "unreachable": unreachable,
            "next_step_at": row.next_step_at.isoformat() if row.next_step_at else None}


# ---------------------------------------------------------------------------- stopping


def acknowledge_refs(session: Session, *, refs: list[str], actor: Actor, note: str | None = None) -> list[int]:
    """Stop the open escalations of `refs`: someone is on it (the alert pipeline calls this
    when an alert is acknowledged, after checking `alert.ack`). Audited. Does not commit."""
    done = []
    for row in _open_rows(session, refs):
        if row.status == "acknowledged":
            continue
        now = clock.utcnow()
        before = row.status
        row.status, row.acked_at, row.acked_by, row.next_step_at = "acknowledged", now, actor.name, None
        row.seq += 1
        session.add(EscalationEvent(escalation_id=row.id, at=now, kind="acknowledged", people=[], actor=actor.name,
                                    level=row.last_level, loop=row.loop, detail={"note": note} if note else None))
        session.flush()
        audit.record(session, actor=actor, action="oncall.escalation.ack", target=f"escalation:{row.id}",
                     before={"status": before}, after={"status": row.status}, note=note)
        _publish(session, row, "oncall.acknowledged", f"{actor.name} acknowledged: {row.summary}"[:300], now, actor.name,
                 {"level": row.last_level + 1 if row.last_level is not None else None,
                  "seconds_to_ack": round((now - row.started_at).total_seconds(), 3)})
        done.append(row.id)
    return done


def resolve_refs(session: Session, *, refs: list[str], actor: Actor = SYSTEM, reason: str = "resolved") -> list[int]:
    """End the open escalations of `refs` (what they were about is over). Audited. Does not
    commit. A later start for the same ref begins a new escalation."""
    done = []
    for row in _open_rows(session, refs):
        now = clock.utcnow()
        before = row.status
        row.status, row.resolved_at, row.next_step_at, row.open_ref = "resolved", now, None, None
        row.seq += 1
        session.add(EscalationEvent(escalation_id=row.id, at=now, kind="resolved", people=[], actor=actor.name,
                                    detail={"reason": reason}))
        session.flush()
        audit.record(session, actor=actor, action="oncall.escalation.resolve", target=f"escalation:{row.id}",
                     before={"status": before}, after={"status": "resolved", "reason": reason})
        done.append(row.id)
    return done


def _open_rows(session: Session, refs: list[str]) -> list[Escalation]:
    if not refs:
        return []
    query = select(Escalation).where(Escalation.open_ref.in_(refs)).order_by(Escalation.id)
    if is_postgres(session):
        query = query.with_for_update()
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


# ---------------------------------------------------------------------------- by hand


def escalate(session: Session, *, escalation_id: int, actor: Actor, note: str | None = None) -> EscalationRead:
    """Page the next level now instead of at its timeout. Permission `alert.escalate` on the
    escalation's service (responders hold it). Raises Conflict when it is not active or has no
    further step. Audited. Does not commit."""
    row = _row(session, escalation_id, lock=True)
    require(actor, "alert.escalate", team=row.team, service=row.service)
    if row.status != "active" or row.next_step_at is None:
        raise Conflict(f"escalation {row.id} is {row.status}; only an active escalation with a step to come can be "
                       "escalated", code="oncall.escalation_not_active")
    if row.reassign_to:
        raise Conflict(f"escalation {row.id} has a reassignment to {row.reassign_to} being paged; try again in a moment",
                       code="oncall.escalation_busy")
    now = clock.utcnow()
    before = {"next_level": row.level + 1, "next_step_at": row.next_step_at.isoformat()}
    row.seq += 1
    session.add(EscalationEvent(escalation_id=row.id, at=now, kind="escalated", people=[], actor=actor.name,
                                level=row.level, loop=row.loop, detail={"note": note} if note else None))
    _schedule(session, row, now)
    audit.record(session, actor=actor, action="oncall.escalation.escalate", target=f"escalation:{row.id}",
                 before=before, after={"next_level": row.level + 1, "next_step_at": now.isoformat()}, note=note)
    return _read(row, _events(session, row.id))


def reassign(session: Session, *, escalation_id: int, person: str, actor: Actor, note: str | None = None) -> EscalationRead:
    """Page `person` now. An acknowledged or exhausted escalation becomes active again; if the
    person does not acknowledge within the timeout of the level paged last, the policy carries on
    where it was (an exhausted one stays exhausted). Permission `alert.escalate`. Audited.
    Does not commit."""
    row = _row(session, escalation_id, lock=True)
    require(actor, "alert.escalate", team=row.team, service=row.service)
    if row.status == "resolved":
        raise Conflict(f"escalation {row.id} is resolved; nothing to reassign", code="oncall.escalation_not_active")
    schedules._known_person(session, person)
    now = clock.utcnow()
    before = {"status": row.status, "acked_by": row.acked_by}
    row.status, row.acked_at, row.acked_by, row.reassign_to = "active", None, None, person
    row.seq += 1
    session.add(EscalationEvent(escalation_id=row.id, at=now, kind="reassign", people=[person], actor=actor.name,
                                detail={"note": note} if note else None))
    _schedule(session, row, now)
    audit.record(session, actor=actor, action="oncall.escalation.reassign", target=f"escalation:{row.id}",
                 before=before, after={"status": "active", "reassigned_to": person}, note=note)
    return _read(row, _events(session, row.id))


# ---------------------------------------------------------------------------- response SLAs


def check_sla(session: Session, *, escalation_id: int, kind: str) -> dict[str, Any]:
    """The `oncall.sla_check` job, run when a response target passes: flag the escalation when
    it was not acknowledged (kind "ack") or resolved ("resolve") in time, record it in its
    history and publish ResponseTargetMissed (the alert pipeline flags its alerts). Once."""
    try:
        row = _row(session, escalation_id, lock=True)
    except EscalationNotFound:
        return {"skipped": "escalation deleted"}
    seconds = row.ack_target_s if kind == "ack" else row.resolve_target_s
    if seconds is None:
        return {"skipped": "no target"}
    due = row.started_at + dt.timedelta(seconds=seconds)
    done_at = row.acked_at if kind == "ack" else row.resolved_at
    if kind == "ack" and done_at is None and row.resolved_at is not None:
        done_at = row.resolved_at  # resolved without an acknowledgement: nobody needs to ack any more
    flagged = row.ack_breached_at if kind == "ack" else row.resolve_breached_at
    if flagged is not None or (done_at is not None and done_at <= due):
        return {"escalation_id": row.id, "kind": kind, "breached": flagged is not None}
    now = clock.utcnow()
    if kind == "ack":
        row.ack_breached_at = now
    else:
        row.resolve_breached_at = now
    session.add(EscalationEvent(escalation_id=row.id, at=now, kind=f"{kind}_breached", people=[],
                                detail={"target_seconds": seconds, "due": due.isoformat()}))
    session.flush()
    events.publish(session, ResponseTargetMissed(escalation_id=row.id, ref=row.ref, kind=kind, service=row.service,
                                                 severity=row.severity, target_seconds=seconds))
    return {"escalation_id": row.id, "kind": kind, "breached": True}


MAX_REPORT_DAYS = 366


def response_report(session: Session, *, actor: Actor, by: str = "service", days: int = 30,
                    now: dt.datetime | None = None) -> list[ResponseRow]:
    """MTTA / MTTR and response-target breaches of the escalations started in the last `days`,
    per service, team or person (a person: the escalations they acknowledged), for the
    escalations the actor may read (`oncall.read`)."""
    require(actor, "oncall.read")
    if by not in ("service", "team", "person"):
        raise InvalidInput("by is one of service, team, person", field="by")
    if not 1 <= days <= MAX_REPORT_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_REPORT_DAYS}", field="days")
    since = (now or clock.utcnow()) - dt.timedelta(days=days)
    rows = session.execute(select(Escalation).where(Escalation.started_at >= since)).scalars()
    groups: dict[str, list[Escalation]] = {}
    for r in rows:
        if not actor.can("oncall.read", team=r.team, service=r.service):
            continue
        key = {"service": r.service or "-", "team": r.team or "-", "person": r.acked_by}[by]
        if key is None:
            continue  # per person: only acknowledged escalations have one
        groups.setdefault(key, []).append(r)
    out = []
    for key, items in sorted(groups.items()):
        acks = [(r.acked_at - r.started_at).total_seconds() for r in items if r.acked_at]
        fixes = [(r.resolved_at - r.started_at).total_seconds() for r in items if r.resolved_at]
        out.append(ResponseRow(
            key=key, escalations=len(items), acknowledged=len(acks), resolved=len(fixes),
            mtta_s=round(sum(acks) / len(acks), 3) if acks else None, mttr_s=round(sum(fixes) / len(fixes), 3) if fixes else None,
            ack_breaches=sum(r.ack_breached_at is not None for r in items),
            resolve_breaches=sum(r.resolve_breached_at is not None for r in items)))
    return out
