"""Deploy records: start (from CI), finish, list (filtered by scope), read. Each start and
finish is audited and published as a ServiceActivity ("deploy.started", "deploy.finished",
"deploy.rolled_back") for the incident timelines and the change calendar.

Permissions (on the deploy's service and its team): deploy.read, deploy.create (start),
deploy.update (finish). A CI token with scope `deploy` holds them all."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.schemas import ServiceRead
from watchkeeper.catalog.stages import Stage
from watchkeeper.deploys import rules
from watchkeeper.deploys.models import Deploy
from watchkeeper.deploys.schemas import DeployFinish, DeployRead, DeployStart
from watchkeeper.errors import Conflict, InvalidInput, NotFound

OUTCOMES = ("succeeded", "failed", "rolled_back", "aborted")
STATUSES = ("planned", "in_progress") + OUTCOMES


def _get(session: Session, deploy_id: int) -> Deploy:
    row = session.get(Deploy, deploy_id)
    if row is None:
        raise NotFound(f"no deploy with id {deploy_id}; `watchkeeper deploy list` shows them", code="deploy.not_found")
    return row


def read(row: Deploy) -> DeployRead:
    return DeployRead.model_validate(row)


def publish(session: Session, row: Deploy, kind: str, summary: str, by: str | None) -> None:
    """Put the deploy on the timelines (the ServiceActivity port). Internal."""
    events.publish(session, events.ServiceActivity(
        kind=kind, services=(row.service,), summary=summary[:300], at=clock.utcnow(), actor=by, link=f"/deploys/{row.id}",
        details={"deploy_id": row.id, "version": row.version, "environment": row.environment, "status": row.status}))


def start_deploy(session: Session, *, data: DeployStart, actor: Actor, gate: str | None = None,
                 gate_reasons: list | None = None) -> DeployRead:
    """Record a deploy starting. Permission deploy.create on the service. Audited and published."""
    svc = catalog.lookup_service(session, name=data.service)
    require(actor, "deploy.create", team=svc.team, service=svc.name)
    target = rules.rollback_target(session, service=svc.name, environment=data.environment, version=data.version, given=data.rollback)
    tests = data.tests
    if gate is None:
        # What the gate says at the start is recorded with the deploy (it does not stop it: CI asks
        # `deploy check` before it deploys); an approved override of this version counts.
        stage = data.stage or svc.stage
        refusals, _ = rules.evaluate(session, svc, stage=stage, version=data.version, environment=data.environment,
                                     tests=tests, rollback=data.rollback, at=clock.utcnow())
        gate_reasons = [r.model_dump() for r in refusals]
        gate = "allowed" if not refusals else ("overridden" if rules.approved_override(session, svc.name, data.version, stage)
                                               else "refused")
    row = Deploy(
        service=svc.name, environment=data.environment, stage=(data.stage or svc.stage).value, version=data.version,
        commit=data.commit, artifact=data.artifact, triggered_by=data.triggered_by or actor.name, recorded_by=actor.name,
        tests_status=tests.status if tests else "untested", tests_url=tests.url if tests else None,
        tests_passed=tests.passed if tests else None, tests_failed=tests.failed if tests else None,
        tests_skipped=tests.skipped if tests else None,
        rollback_version=target.version if target else None, rollback_how=target.how if target else None,
        status="in_progress", gate=gate, gate_reasons=gate_reasons or [], started_at=clock.utcnow(), details={},
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="deploy.start", target=f"deploy:{row.id}",
                 after={"service": row.service, "environment": row.environment, "version": row.version, "commit": row.commit,
                        "tests": row.tests_status, "rollback_version": row.rollback_version, "gate": gate})
    tested = "untested" if tests is None else f"tests {tests.status} ({tests.passed} passed, {tests.failed} failed)"
    publish(session, row, "deploy.started", f"deploy of {row.service} {row.version} to {row.environment} started by "
                                            f"{row.triggered_by}; {tested}", actor.name)
    return read(row)


def finish_deploy(session: Session, *, deploy_id: int, data: DeployFinish, actor: Actor) -> DeployRead:
    """Record a deploy's outcome. Permission deploy.update on the service. Audited and published."""
    row = _get(session, deploy_id)
    svc = catalog.find_service(session, name=row.service)
    require(actor, "deploy.update", team=svc.team if svc else None, service=row.service)
    if row.status == "planned" and data.outcome != "aborted":
        raise Conflict(f"deploy {deploy_id} is only planned: cancel it with outcome aborted, and record the real deploy "
                       "with `deploy start`", code="deploy.planned")
    if row.status not in ("in_progress", "planned"):
        raise Conflict(f"deploy {deploy_id} already finished ({row.status}); a deploy finishes once", code="deploy.finished")
    _finish(row, data.outcome, data.reason)
    session.flush()
    audit.record(session, actor=actor, action="deploy.finish", target=f"deploy:{row.id}",
                 before={"status": "in_progress"}, after={"status": row.status, "reason": row.reason})
    announce_finish(session, row, actor.name)
    return read(row)


def _finish(row: Deploy, outcome: str, reason: str | None) -> None:
    row.status, row.reason, row.finished_at = outcome, reason, clock.utcnow()


def announce_finish(session: Session, row: Deploy, by: str | None) -> None:
    """Publish a finished deploy (finished or rolled back) on the timelines. Internal."""
    took = ""
    if row.finished_at is not None:
        seconds = (clock.ensure_aware(row.finished_at) - clock.ensure_aware(row.started_at)).total_seconds()
        took = f" after {seconds:.0f}s"
    if row.status == "rolled_back":
        publish(session, row, "deploy.rolled_back", f"deploy of {row.service} {row.version} rolled back to "
                                                    f"{row.rollback_version or 'the previous version'}{took}"
                                                    + (f": {row.reason}" if row.reason else ""), by)
    else:
        publish(session, row, "deploy.finished", f"deploy of {row.service} {row.version} to {row.environment} {row.status}{took}"
                                                 + (f": {row.reason}" if row.reason else ""), by)


def get_deploy(session: Session, *, deploy_id: int, actor: Actor) -> DeployRead:
    row = _get(session, deploy_id)
    svc = catalog.find_service(session, name=row.service)
    require(actor, "deploy.read", team=svc.team if svc else None, service=row.service)
    return read(row)


def list_deploys(session: Session, *, actor: Actor, service: str | None = None, environment: str | None = None,
                 status: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
                 limit: int = 100) -> list[DeployRead]:
    """Deploys the actor may read, newest first."""
    require(actor, "deploy.read")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", field="limit")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status[:30]!r}", field="status")
    query = select(Deploy).order_by(Deploy.id.desc())
    if service:
        query = query.where(Deploy.service == service)
    if environment:
        query = query.where(Deploy.environment == environment)
    if status:
        query = query.where(Deploy.status == status)
    if since:
        query = query.where(Deploy.started_at >= since)
    if until:
        query = query.where(Deploy.started_at < until)
    teams: dict[str, str | None] = {}
    out: list[DeployRead] = []
    for row in session.execute(query.limit(5000)).scalars():
        if row.service not in teams:
            svc = catalog.find_service(session, name=row.service)
            teams[row.service] = svc.team if svc else None
        if actor.can("deploy.read", team=teams[row.service], service=row.service):
            out.append(read(row))
            if len(out) >= limit:
                break
    return out


def stage_of(svc: ServiceRead, stage: Stage | None) -> Stage:
    return Stage(stage or svc.stage)
