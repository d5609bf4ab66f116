"""Gradual rollouts, executed by the worker one step per queue job.

`start_rollout` records the deploy with a snapshot of the service's rollout plan, one row per
step and the first step's job, in one transaction. A step job (`advance`):

1. skips a step that is already passed or failed (a job delivered twice does nothing);
2. waits for `watchkeeper deploy approve-step` when the step asks for approval;
3. calls the traffic hook with the step's weight, committing `hook_at` right after it
   succeeded — a resumed step whose hook already ran never calls it again;
4. waits the step's pause (measured from `hook_at`, so a resumed step waits only what is left);
5. analyses: `samples` looks at probes, SLO burn, the named alert rules and the analysis URL;
   the step passes when at least `min_success` of them are healthy;
6. passes: queues the next step's job (dedupe key per step) in the same transaction, or marks
   the deploy succeeded after the last; fails: queues the automatic rollback (traffic to 0 %
   through the traffic hook, then the rollback hook, timed to healthy) in the same transaction.

A worker killed mid-step (kill -9) loses its job lease; another worker takes the job back and
`advance` finds the step `running`: with `on_crash: resume` it carries on from what is recorded
(the hook is re-sent only if it had not been recorded as done, counted in `hook_runs`); with
`on_crash: rollback` it fails the step and rolls back. Every step is on the deploy's timeline
(ServiceActivity deploy.step_passed / deploy.step_failed / deploy.step_waiting).

Permissions: deploy.create and deploy.rollout (start), deploy.approve (approve a step),
deploy.rollback (abort). Each is audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.deploys import freezes, health, hooks
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.models import Deploy, Step
from watchkeeper.deploys.schemas import (
    DeployRead,
    DeployStart,
    RolloutPlan,
    ServiceDeployConfig,
)
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.queue import service as queue

JOB = "deploys.rollout"
_WORKER = Actor.system("deploys-worker", "worker")


def _enqueue(session: Session, deploy_id: int, idx: int, suffix: str = "") -> None:
    queue.enqueue(session, kind=JOB, payload={"deploy_id": deploy_id, "step": idx},
                  dedupe_key=f"deploys:rollout:{deploy_id}:{idx}{suffix}")


def start_rollout(session: Session, *, data: DeployStart, actor: Actor) -> DeployRead:
    """Record a deploy and start its gradual rollout by the service's plan. Permissions
    deploy.create and deploy.rollout. Audited; the first step's job is queued."""
    svc = catalog.lookup_service(session, name=data.service)
    require(actor, "deploy.rollout", team=svc.team, service=svc.name)
    policy = freezes.policy_of(session, svc.name)
    if policy is None or policy.rollout is None or policy.traffic is None:
        raise InvalidInput(f"service '{svc.name}' has no rollout plan and traffic hook; declare deploys.services[].rollout "
                           "and .traffic (docs/deploys.md)", field="service")
    started = deploys.start_deploy(session, data=data, actor=actor)
    row = session.get(Deploy, started.id)
    row.rollout = policy.rollout.model_dump(mode="json")
    row.rollout_status = "running"
    for idx, step in enumerate(policy.rollout.steps):
        session.add(Step(deploy_id=row.id, idx=idx, weight=step.weight, status="pending", hook_runs=0, analysis={}))
    session.flush()
    _enqueue(session, row.id, 0)
    audit.record(session, actor=actor, action="deploy.rollout_start", target=f"deploy:{row.id}",
                 after={"steps": [s.weight for s in policy.rollout.steps], "on_crash": policy.rollout.on_crash})
    return deploys.read(row)


def _deploy_checked(session: Session, deploy_id: int, actor: Actor, permission: str) -> Deploy:
    row = session.get(Deploy, deploy_id)
    if row is None:
        raise NotFound(f"no deploy with id {deploy_id}", code="deploy.not_found")
    svc = catalog.find_service(session, name=row.service)
    require(actor, permission, team=svc.team if svc else None, service=row.service)
    return row


def approve_step(session: Session, *, deploy_id: int, actor: Actor) -> DeployRead:
    """Let a rollout waiting for approval go on (permission deploy.approve). Audited."""
    row = _deploy_checked(session, deploy_id, actor, "deploy.approve")
    step = session.execute(select(Step).where(Step.deploy_id == row.id, Step.status == "waiting_approval")).scalar_one_or_none()
    if step is None or row.rollout_status != "running":
        raise Conflict(f"deploy {deploy_id} has no rollout step waiting for approval", code="deploy.no_step_waiting")
    step.status = "pending"
    step.analysis = {**step.analysis, "approved_by": actor.name, "approved_at": clock.utcnow().isoformat()}
    _enqueue(session, row.id, step.idx, ":approved")
    session.flush()
    audit.record(session, actor=actor, action="deploy.rollout_approve", target=f"deploy:{row.id}",
                 after={"step": step.idx, "weight": step.weight})
    return deploys.read(row)


def abort_rollout(session: Session, *, deploy_id: int, reason: str, actor: Actor) -> DeployRead:
    """Stop a rollout and roll it back (permission deploy.rollback). Audited."""
    row = _deploy_checked(session, deploy_id, actor, "deploy.rollback")
    if not reason or not reason.strip() or len(reason) > 2000:
        raise InvalidInput("give a reason (at most 2000 characters)", field="reason")
    if row.rollout_status != "running":
        raise Conflict(f"deploy {deploy_id} has no running rollout (it is {row.rollout_status or 'not a rollout'})",
                       code="deploy.no_rollout")
    _roll_back(session, row, trigger="abort", reason=f"aborted by {actor.name}: {reason}")
    audit.record(session, actor=actor, action="deploy.rollout_abort", target=f"deploy:{row.id}", after={"reason": reason})
    return deploys.read(row)


def steps(session: Session, *, deploy_id: int, actor: Actor) -> list[dict]:
    """The rollout's steps with their analysis (permission deploy.read)."""
    row = _deploy_checked(session, deploy_id, actor, "deploy.read")
    return [_step_dict(s) for s in session.execute(select(Step).where(Step.deploy_id == row.id).order_by(Step.idx)).scalars()]


def _step_dict(s: Step) -> dict:
    return {"idx": s.idx, "weight": s.weight, "status": s.status, "hook_runs": s.hook_runs, "hook_at": s.hook_at,
            "started_at": s.started_at, "finished_at": s.finished_at, "analysis": s.analysis, "reason": s.reason}


# ---------------------------------------------------------------------------- the worker's side


def _roll_back(session: Session, row: Deploy, *, trigger: str, reason: str) -> None:
    row.rollout_status, row.reason = "rolling_back", reason
    rollbacks.queue_rollback(session, service=row.service, environment=row.environment, kind="rollback", trigger=trigger,
                             requested_by=_WORKER.name, deploy_id=row.id, to_version=row.rollback_version)


def _step_event(session: Session, row: Deploy, step: Step, what: str, summary: str) -> None:
    deploys.publish(session, row, f"deploy.step_{what}", summary, _WORKER.name)


def _load(s: Session, deploy_id: int, idx: int) -> tuple[Deploy, Step | None]:
    row = s.get(Deploy, deploy_id, populate_existing=True)
    step = s.execute(select(Step).where(Step.deploy_id == deploy_id, Step.idx == idx)).scalar_one_or_none()
    return row, step


def advance(session_factory: Callable[[], Session], *, deploy_id: int, idx: int, settings: Any = None) -> dict:
    """Run step `idx` of the deploy's rollout (see the module docstring)."""
    with session_factory() as s:
        row, step = _load(s, deploy_id, idx)
        if row is None or step is None:
            return {"skipped": "no such rollout step"}
        if row.rollout_status != "running" or step.status in ("passed", "failed", "waiting_approval"):
            return {"skipped": f"step {idx} is {step.status}, the rollout {row.rollout_status}"}
        plan = RolloutPlan.model_validate(row.rollout)
        spec = plan.steps[idx]
        policy = freezes.policy_of(s, row.service) or ServiceDeployConfig(service=row.service)
        if step.status == "running" and plan.on_crash == "rollback":
            step.status, step.finished_at = "failed", clock.utcnow()
            step.reason = "the worker running this step stopped; the plan says roll back (on_crash: rollback)"
            _roll_back(s, row, trigger="crash", reason=step.reason)
            _step_event(s, row, step, "failed", f"rollout of {row.service} {row.version} step {idx + 1} ({step.weight} %): {step.reason}")
            s.commit()
            return {"step": idx, "status": "failed", "reason": step.reason}
        if spec.approval and not step.analysis.get("approved_by"):
            step.status = "waiting_approval"
            _step_event(s, row, step, "waiting", f"rollout of {row.service} {row.version} waits for approval before "
                                                 f"{step.weight} % (`watchkeeper deploy approve-step {row.id}`)")
            s.commit()
            return {"step": idx, "status": "waiting_approval"}
        need_hook = step.hook_at is None
        resumed = step.status == "running"
        step.status, step.started_at = "running", step.started_at or clock.utcnow()
        if resumed:  # taken back from a worker that died mid-step: say so on the step
            step.analysis = {**step.analysis, "resumed": int(step.analysis.get("resumed", 0)) + 1}
        if need_hook:
            step.hook_runs += 1
        service = row.service
        values = {"service": row.service, "environment": row.environment, "version": row.version,
                  "from_version": row.rollback_version or "", "weight": str(step.weight)}
        s.commit()
        hook_at = step.hook_at
    if need_hook:
        result = hooks.run(policy.traffic, values=values, settings=settings)
        with session_factory() as s:
            row, step = _load(s, deploy_id, idx)
            step.analysis = {**step.analysis, "hook": result.as_dict()}
            if not result.ok:
                step.status, step.finished_at, step.reason = "failed", clock.utcnow(), f"traffic hook failed: {result.reason}"
                _roll_back(s, row, trigger="analysis", reason=f"step {idx + 1} ({step.weight} %): {step.reason}")
                _step_event(s, row, step, "failed", f"rollout of {row.service} {row.version} step {idx + 1}: {step.reason}")
                s.commit()
                return {"step": idx, "status": "failed", "reason": step.reason}
            step.hook_at = hook_at = clock.utcnow()
            s.commit()
    remaining = spec.pause.total_seconds() - (clock.utcnow() - clock.ensure_aware(hook_at)).total_seconds()
    if remaining > 0:
        time.sleep(remaining)
    verdict = _analyse(session_factory, service, policy, spec, settings)
    with session_factory() as s:
        row, step = _load(s, deploy_id, idx)
        if row.rollout_status != "running" or step.status != "running":
            return {"skipped": f"the rollout was {row.rollout_status} while step {idx} was analysed"}
        step.analysis = {**step.analysis, "analysis": verdict}
        step.finished_at = clock.utcnow()
        if verdict["passed"]:
            step.status = "passed"
            last = idx == len(plan.steps) - 1
            _step_event(s, row, step, "passed", f"rollout of {row.service} {row.version}: {step.weight} % healthy "
                                                f"({verdict['ok']}/{verdict['samples']} samples)")
            if last:
                row.rollout_status, row.status, row.finished_at = "succeeded", "succeeded", clock.utcnow()
                deploys.announce_finish(s, row, _WORKER.name)
            else:
                _enqueue(s, row.id, idx + 1)
        else:
            step.status = "failed"
            step.reason = f"analysis failed: {verdict['ok']}/{verdict['samples']} healthy samples; " + "; ".join(verdict["problems"][:3])
            _roll_back(s, row, trigger="analysis", reason=f"step {idx + 1} ({step.weight} %): {step.reason}")
            _step_event(s, row, step, "failed", f"rollout of {row.service} {row.version} step {idx + 1} ({step.weight} %): "
                                                f"{step.reason}; rolling back")
        audit.record(s, actor=_WORKER, action="deploy.rollout_step", target=f"deploy:{row.id}",
                     after={"step": idx, "weight": step.weight, "status": step.status})
        s.commit()
        return {"step": idx, "status": step.status}


def _analyse(session_factory, service: str, policy: ServiceDeployConfig, spec, settings) -> dict:
    analysis = spec.analysis
    if analysis is None:
        return {"passed": True, "samples": 0, "ok": 0, "problems": []}
    ok, problems = 0, []
    for i in range(analysis.samples):
        sample = health.sample(session_factory, service=service, policy=policy.health, settings=settings, analysis=analysis)
        if sample.ok:
            ok += 1
        else:
            problems.extend(p for p in sample.problems if p not in problems)
        if i < analysis.samples - 1:
            time.sleep(analysis.interval.total_seconds())
    return {"passed": ok / analysis.samples >= analysis.min_success, "samples": analysis.samples, "ok": ok, "problems": problems[:10]}


def watch(session: Session) -> int:
    """Rollouts never stay half-done silently: a step whose queue job is dead (its attempts
    used up by crashes or a bug) fails, and the rollout is rolled back (the leader runs this
    every minute). Internal. Returns how many rollouts it stopped. Does not commit."""
    from watchkeeper.queue.models import Job

    stopped = 0
    for row in session.execute(select(Deploy).where(Deploy.rollout_status == "running")).scalars():
        step = session.execute(select(Step).where(Step.deploy_id == row.id, Step.status.in_(("pending", "running")))
                               .order_by(Step.idx).limit(1)).scalar_one_or_none()
        if step is None:
            continue
        keys = [f"deploys:rollout:{row.id}:{step.idx}", f"deploys:rollout:{row.id}:{step.idx}:approved"]
        jobs = list(session.execute(select(Job).where(Job.dedupe_key.in_(keys))).scalars())
        if not jobs or any(j.status != "dead" for j in jobs):
            continue
        last = max(jobs, key=lambda j: j.id)
        step.status, step.finished_at = "failed", clock.utcnow()
        step.reason = (f"its worker job died after {last.attempts} attempt{'s' if last.attempts != 1 else ''}: "
                       f"{(last.last_error or 'no error recorded')[:200]}")
        _roll_back(session, row, trigger="crash", reason=f"step {step.idx + 1} ({step.weight} %): {step.reason}")
        _step_event(session, row, step, "failed", f"rollout of {row.service} {row.version} step {step.idx + 1}: {step.reason}; "
                                                  "rolling back")
        audit.record(session, actor=_WORKER, action="deploy.rollout_step", target=f"deploy:{row.id}",
                     after={"step": step.idx, "weight": step.weight, "status": "failed", "reason": "job dead"})
        stopped += 1
    session.flush()
    return stopped
