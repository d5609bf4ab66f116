"""Rollbacks and rollback drills, timed. `watchkeeper deploy rollback SERVICE` runs the
service's rollback hook to the rollback target and measures time-to-healthy (until the
service's probes, SLO burn and health URL are healthy again); `watchkeeper deploy drill
SERVICE` rolls back to the previous version and then forward again (the legs the policy's
`drill_legs` allow), timing each leg against the target (5 minutes unless health.target says
otherwise). Both are worker queue jobs: the request is a row and a queued job committed
together, so a restart loses nothing; a job that finds its rollback already running (the
worker running it died) fails it with that reason instead of running a hook twice.

Permissions: deploy.rollback, deploy.drill, deploy.read. Requests are audited; the outcome is
written by the worker (audited as the worker) and published on the timeline port."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.deploys import freezes, health, hooks, rules
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.models import Deploy, Rollback
from watchkeeper.deploys.schemas import (
    ENVIRONMENT,
    HealthPolicy,
    RollbackRead,
    ServiceDeployConfig,
)
from watchkeeper.errors import InvalidInput, NotFound
from watchkeeper.queue import service as queue

JOB = "deploys.rollback"
_WORKER = Actor.system("deploys-worker", "worker")


def _read(row: Rollback) -> RollbackRead:
    return RollbackRead.model_validate(row)


def _current(session: Session, service: str, environment: str) -> Deploy | None:
    """The deploy running in the environment now: the newest in progress or succeeded."""
    return session.execute(select(Deploy).where(Deploy.service == service, Deploy.environment == environment,
                                                Deploy.status.in_(("in_progress", "succeeded"))).order_by(Deploy.id.desc())
                           .limit(1)).scalar_one_or_none()


def _check_env(environment: str) -> None:
    import re

    if not re.match(ENVIRONMENT, environment):
        raise InvalidInput(f"environment {environment[:70]!r} must be lowercase letters, digits and . _ -", field="environment")


def queue_rollback(session: Session, *, service: str, environment: str, kind: str, trigger: str, requested_by: str,
                   deploy_id: int | None = None, to_version: str | None = None) -> Rollback:
    """Write the rollback row and queue its job in the caller's transaction. Internal: the
    checked request functions and the rollout worker (automatic rollback) call it."""
    policy = freezes.policy_of(session, service) or ServiceDeployConfig(service=service)
    current = session.get(Deploy, deploy_id) if deploy_id is not None else _current(session, service, environment)
    from_version = current.version if current is not None else None
    if to_version is None:
        if current is not None and current.rollback_version:
            to_version = current.rollback_version
        else:
            prev = rules.previous_good(session, service=service, environment=environment, other_than=from_version,
                                       before_id=current.id if current is not None else None)
            to_version = prev.version if prev is not None else None
    row = Rollback(service=service, environment=environment, kind=kind, trigger=trigger, status="queued",
                   deploy_id=current.id if current is not None else None, from_version=from_version, to_version=to_version,
                   requested_by=requested_by, queued_at=clock.utcnow(), target_seconds=policy.health.target.total_seconds(),
                   legs=[], reason=None)
    session.add(row)
    session.flush()
    queue.enqueue(session, kind=JOB, payload={"rollback_id": row.id}, dedupe_key=f"deploys:rollback:{row.id}")
    return row


def _request(session: Session, *, service: str, environment: str, kind: str, actor: Actor, to_version: str | None) -> RollbackRead:
    _check_env(environment)
    svc = catalog.lookup_service(session, name=service)
    require(actor, f"deploy.{kind}", team=svc.team, service=svc.name)
    policy = freezes.policy_of(session, svc.name)
    if policy is None or policy.rollback is None:
        raise InvalidInput(f"service '{svc.name}' has no rollback hook; declare one under deploys.services (docs/deploys.md)",
                           field="service")
    row = queue_rollback(session, service=svc.name, environment=environment, kind=kind, trigger="manual",
                         requested_by=actor.name, to_version=to_version)
    if row.to_version is None:
        raise InvalidInput(f"'{svc.name}' in {environment} has no earlier successful deploy to return to; give --to VERSION",
                           field="to_version")
    audit.record(session, actor=actor, action=f"deploy.{kind}", target=f"service:{svc.name}",
                 after={"rollback": row.id, "environment": environment, "from": row.from_version, "to": row.to_version})
    return _read(row)


def request_rollback(session: Session, *, service: str, actor: Actor, environment: str = "production",
                     to_version: str | None = None) -> RollbackRead:
    """Queue a rollback of the service (permission deploy.rollback). Audited. Does not commit."""
    return _request(session, service=service, environment=environment, kind="rollback", actor=actor, to_version=to_version)


def request_drill(session: Session, *, service: str, actor: Actor, environment: str = "production") -> RollbackRead:
    """Queue a rollback drill: back to the previous version, then forward (permission deploy.drill). Audited."""
    return _request(session, service=service, environment=environment, kind="drill", actor=actor, to_version=None)


def get_rollback(session: Session, *, rollback_id: int, actor: Actor) -> RollbackRead:
    row = session.get(Rollback, rollback_id, populate_existing=True)
    if row is None:
        raise NotFound(f"no rollback or drill with id {rollback_id}", code="deploy.rollback_not_found")
    svc = catalog.find_service(session, name=row.service)
    require(actor, "deploy.read", team=svc.team if svc else None, service=row.service)
    return _read(row)


def list_rollbacks(session: Session, *, actor: Actor, service: str | None = None, limit: int = 50) -> list[RollbackRead]:
    """Rollbacks and drills the actor may read, newest first."""
    require(actor, "deploy.read")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", field="limit")
    query = select(Rollback).order_by(Rollback.id.desc()).limit(2000)
    if service:
        query = query.where(Rollback.service == service)
    out, teams = [], {}
    for row in session.execute(query).scalars():
        if row.service not in teams:
            svc = catalog.find_service(session, name=row.service)
            teams[row.service] = svc.team if svc else None
        if actor.can("deploy.read", team=teams[row.service], service=row.service):
            out.append(_read(row))
            if len(out) >= limit:
                break
    return out


# ---------------------------------------------------------------------------- the worker's side


def _leg(name: str, steps: list[tuple[Any, dict[str, str]]], session_factory, service: str, health_policy: HealthPolicy,
         settings: Any) -> dict:
    """Run the leg's hooks in order, then wait until healthy; time from the first hook."""
    t0 = time.monotonic()
    started = clock.utcnow()
    if not steps:
        return {"leg": name, "ok": False, "started_at": started.isoformat(), "seconds": 0.0,
                "reason": f"no {'deploy' if name == 'forward' else 'rollback'} hook is declared for this leg"}
    leg: dict[str, Any] = {"leg": name, "version": steps[-1][1]["version"], "started_at": started.isoformat(), "hooks": []}
    for hook, values in steps:
        result = hooks.run(hook, values=values, settings=settings)
        leg["hooks"].append({"hook": hook.describe(), "weight": values.get("weight"), **result.as_dict()})
        if not result.ok:
            leg.update(ok=False, seconds=round(time.monotonic() - t0, 3), reason=f"hook failed: {result.reason}")
            return leg
    waited = health.wait_healthy(session_factory, service=service, policy=health_policy, started=t0, settings=settings)
    leg.update(ok=waited.healthy, seconds=round(waited.seconds, 3), samples=waited.samples, checked=waited.checked,
               within_target=waited.healthy and waited.seconds < health_policy.target.total_seconds(),
               reason=None if waited.healthy else f"not healthy after {waited.seconds:.1f}s: {waited.reason}")
    if waited.healthy and waited.reason:
        leg["note"] = waited.reason
    return leg


def execute(session_factory: Callable[[], Session], *, rollback_id: int, settings: Any = None) -> RollbackRead:
    """Run one queued rollback or drill. Short transactions: take it (queued → running),
    then run each leg with none open, then record the outcome."""
    with session_factory() as s:
        row = s.get(Rollback, rollback_id)
        if row is None:
            raise NotFound(f"no rollback or drill with id {rollback_id}", code="deploy.rollback_not_found")
        if row.status == "running":
            row.status, row.finished_at = "failed", clock.utcnow()
            row.reason = ("the worker running it stopped before it finished; nothing was run again "
                          "(run `watchkeeper deploy rollback|drill` again once the service is checked)")
            s.commit()
            return _read(row)
        if row.status != "queued":
            return _read(row)
        policy = freezes.policy_of(s, row.service) or ServiceDeployConfig(service=row.service)
        row.status, row.started_at = "running", clock.utcnow()
        service, environment, to_version, from_version, kind = row.service, row.environment, row.to_version, row.from_version, row.kind
        automatic = row.trigger != "manual"
        deploy_id = row.deploy_id
        s.commit()
    if to_version is None:
        legs = [{"leg": "rollback", "ok": False, "seconds": 0.0, "reason": "no version to return to"}]
    else:
        legs = []
        plan = ["rollback"] if kind == "rollback" else list(policy.drill_legs)
        for name in plan:
            back = name == "rollback"
            values = {"service": service, "environment": environment, "version": to_version if back else (from_version or ""),
                      "from_version": (from_version or "") if back else to_version, "weight": "0" if back else "100"}
            steps: list[tuple[Any, dict[str, str]]] = []
            if back and automatic and policy.traffic is not None:
                # a canary that failed: all traffic back to the old version first
                steps.append((policy.traffic, {**values, "version": from_version or "", "from_version": to_version, "weight": "0"}))
            hook = policy.rollback if back else policy.deploy
            if hook is not None:
                steps.append((hook, values))
            leg = _leg(name, steps, session_factory, service, policy.health, settings)
            legs.append(leg)
            if not leg["ok"]:
                break
    return _record(session_factory, rollback_id=rollback_id, legs=legs, deploy_id=deploy_id)


def _record(session_factory: Callable[[], Session], *, rollback_id: int, legs: list[dict], deploy_id: int | None) -> RollbackRead:
    with session_factory() as s:
        row = s.get(Rollback, rollback_id)
        back = next((leg for leg in legs if leg["leg"] == "rollback"), None)
        ok = bool(legs) and all(leg["ok"] for leg in legs)
        row.legs, row.finished_at = legs, clock.utcnow()
        row.status = "succeeded" if ok else "failed"
        row.time_to_healthy_seconds = back["seconds"] if back is not None and back.get("ok") else (back or {}).get("seconds")
        failed = next((leg for leg in legs if not leg["ok"]), None)
        slow = [leg for leg in legs if leg.get("ok") and not leg.get("within_target", True)]
        row.reason = failed["reason"] if failed else (
            "; ".join(f"the {leg['leg']} leg took {leg['seconds']:.1f}s, over the {row.target_seconds:g}s target" for leg in slow) or None)
        what = "drill" if row.kind == "drill" else "rollback"
        summary = (f"{what} of {row.service} to {row.to_version or '?'} "
                   + (f"healthy in {row.time_to_healthy_seconds:.1f}s" if ok else f"failed: {row.reason}"))
        if row.kind == "rollback" and deploy_id is not None and ok:
            d = s.get(Deploy, deploy_id)
            if d is not None and d.status in ("in_progress", "succeeded"):
                d.status, d.finished_at = "rolled_back", d.finished_at or clock.utcnow()
                d.reason = f"rolled back to {row.to_version} (rollback #{row.id}, healthy in {row.time_to_healthy_seconds:.1f}s)"
                if d.rollout_status in ("running", "rolling_back"):
                    d.rollout_status = "rolled_back"
                deploys.announce_finish(s, d, _WORKER.name)
        else:
            events.publish(s, events.ServiceActivity(
                kind=f"deploy.{what}_finished", services=(row.service,), summary=summary[:300], at=clock.utcnow(), actor=_WORKER.name,
                link=f"/deploys/rollbacks/{row.id}", details={"rollback_id": row.id, "status": row.status,
                                                              "time_to_healthy_seconds": row.time_to_healthy_seconds}))
        audit.record(s, actor=_WORKER, action=f"deploy.{what}_finished", target=f"service:{row.service}",
                     after={"rollback": row.id, "status": row.status, "time_to_healthy_seconds": row.time_to_healthy_seconds})
        s.commit()
        return _read(row)
