"""The deploy gate: may this version of this service go to this stage now?

One reason per refusing rule (rule ids are stable; docs/deploys.md lists them):

    tests             no test evidence ("untested"), or the tests failed
    rollback_target   PROD: no previous good version to return to, or no way to return (no `how`, no rollback hook)
    rollback_drilled  PROD: no rollback or drill within 90 days reached healthy within its target
    freeze            a change freeze (service, team or global; one-off or cron-recurring) is in force
    change_window     change windows apply to the service and none is open now
    readiness         the service fails the stage's readiness checklist (the readiness engine)
    slo_budget        an SLO of the service has spent its error budget (the service's budget policy)
    incident          an open SEV1/SEV2 incident on the service or a dependency (see `open_incidents`)

Exit codes for CI (`watchkeeper deploy check`): 0 allowed (no rule refuses, or an approved
override covers the refusal), 3 refused, 4 refused while an override awaits its second person,
2 bad input (unknown service, malformed version), 1 anything else (permission, database).

Overrides: a reason is required; for PROD a second person (not the requester) must approve;
every request, approval and use is audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.stages import Stage
from watchkeeper.deploys import rules
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.models import Override
from watchkeeper.deploys.schemas import (
    GateRequest,
    GateResult,
    OverrideCreate,
    OverrideRead,
)
from watchkeeper.errors import Conflict, InvalidInput, NotFound, PermissionDenied

ALLOWED, ERROR, BAD_INPUT, REFUSED, AWAITING_APPROVAL = 0, 1, 2, 3, 4


# ---------------------------------------------------------------------------- overrides


def _override_read(row: Override, now: dt.datetime) -> OverrideRead:
    read = OverrideRead.model_validate(row)
    read.active = row.approved_at is not None and clock.ensure_aware(row.expires_at) > now
    return read


def _matching_override(session: Session, service: str, version: str, stage: Stage, now: dt.datetime) -> Override | None:
    rows = session.execute(select(Override).where(Override.service == service, Override.version == version,
                                                  Override.stage == stage.value).order_by(Override.id.desc())).scalars()
    pending = None
    for row in rows:
        if clock.ensure_aware(row.expires_at) <= now:
            continue
        if row.approved_at is not None:
            return row
        pending = pending or row
    return pending


def request_override(session: Session, *, data: OverrideCreate, actor: Actor) -> OverrideRead:
    """Ask to deploy past the gate. Permission deploy.override. Outside PROD the request is its
    own approval; for PROD a second person must approve it. Audited."""
    svc = catalog.lookup_service(session, name=data.service)
    require(actor, "deploy.override", team=svc.team, service=svc.name)
    stage = deploys.stage_of(svc, data.stage)
    now = clock.utcnow()
    row = Override(service=svc.name, version=data.version, stage=stage.value, reason=data.reason, requested_by=actor.name,
                   requested_at=now, expires_at=now + data.expires_in)
    if stage != Stage.PROD:
        row.approved_by, row.approved_at = actor.name, now
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="deploy.override_request", target=f"deploy-override:{row.id}",
                 after={"service": row.service, "version": row.version, "stage": row.stage, "reason": row.reason,
                        "expires_at": row.expires_at, "needs_second_person": stage == Stage.PROD})
    return _override_read(row, now)


def approve_override(session: Session, *, override_id: int, actor: Actor) -> OverrideRead:
    """The second person approves a PROD override. Permission deploy.approve; the approver
    must not be the requester. Audited."""
    row = session.get(Override, override_id)
    if row is None:
        raise NotFound(f"no deploy override with id {override_id}", code="deploy.override_not_found")
    svc = catalog.find_service(session, name=row.service)
    require(actor, "deploy.approve", team=svc.team if svc else None, service=row.service)
    now = clock.utcnow()
    if row.approved_at is not None:
        raise Conflict(f"override {override_id} is already approved by {row.approved_by}", code="deploy.override_approved")
    if clock.ensure_aware(row.expires_at) <= now:
        raise Conflict(f"override {override_id} expired at {_fmt(clock.ensure_aware(row.expires_at))}; request a new one",
                       code="deploy.override_expired")
    if actor.name == row.requested_by:
        raise PermissionDenied(f"{actor.name} requested override {override_id}; a second person must approve a PROD override",
                               code="deploy.two_person")
    row.approved_by, row.approved_at = actor.name, now
    session.flush()
    audit.record(session, actor=actor, action="deploy.override_approve", target=f"deploy-override:{row.id}",
                 before={"approved_by": None}, after={"approved_by": actor.name, "requested_by": row.requested_by})
    return _override_read(row, now)


def list_overrides(session: Session, *, actor: Actor, service: str | None = None) -> list[OverrideRead]:
    """Overrides the actor may read, newest first."""
    require(actor, "deploy.read")
    now = clock.utcnow()
    query = select(Override).order_by(Override.id.desc()).limit(500)
    if service:
        query = query.where(Override.service == service)
    out = []
    teams: dict[str, str | None] = {}
    for row in session.execute(query).scalars():
        if row.service not in teams:
            svc = catalog.find_service(session, name=row.service)
            teams[row.service] = svc.team if svc else None
        if actor.can("deploy.read", team=teams[row.service], service=row.service):
            out.append(_override_read(row, now))
    return out


# ---------------------------------------------------------------------------- the check


def check(session: Session, *, data: GateRequest, actor: Actor) -> GateResult:
    """Ask the gate. Permission deploy.check on the service. An approved override that covers
    a refusal is used (audited once, when first used)."""
    svc = catalog.find_service(session, name=data.service)
    if svc is None:
        raise InvalidInput(f"unknown service '{data.service[:100]}'; `watchkeeper service list` shows them", field="service")
    require(actor, "deploy.check", team=svc.team, service=svc.name)
    stage = deploys.stage_of(svc, data.stage)
    now = clock.utcnow()
    reasons, not_checked = rules.evaluate(session, svc, stage=stage, version=data.version, environment=data.environment,
                                    tests=data.tests, rollback=data.rollback, at=now)
    override = _matching_override(session, svc.name, data.version, stage, now) if reasons else None
    code = ALLOWED if not reasons else REFUSED
    if override is not None and override.approved_at is not None:
        code = ALLOWED
        if override.used_at is None:
            override.used_at = now
            session.flush()
            audit.record(session, actor=actor, action="deploy.override_use", target=f"deploy-override:{override.id}",
                         after={"service": svc.name, "version": data.version, "stage": stage.value,
                                "refused_by": [r.rule for r in reasons]})
    elif override is not None:
        code = AWAITING_APPROVAL
    return GateResult(service=svc.name, version=data.version, stage=stage.value, environment=data.environment,
                      allowed=code == ALLOWED, exit_code=code, reasons=reasons, not_checked=not_checked,
                      override=_override_read(override, now) if override is not None else None, checked_at=now)


def _fmt(at: dt.datetime) -> str:
    return f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
