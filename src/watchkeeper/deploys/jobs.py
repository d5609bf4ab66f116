"""Worker handlers: `deploys.rollback` runs one queued rollback or drill (rollback.execute),
`deploys.rollout` runs one step of a gradual rollout (rollout.advance). Both do their work in
their own short transactions; none is open while a hook or a probe runs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.deploys import rollback, rollout
from watchkeeper.queue.context import JobContext


def run_rollback(session: Session, payload: dict, ctx: JobContext) -> dict:
    result = rollback.execute(ctx.session_factory, rollback_id=int(payload["rollback_id"]), settings=ctx.settings)
    return {"rollback": result.id, "status": result.status, "time_to_healthy_seconds": result.time_to_healthy_seconds}


def run_rollout_step(session: Session, payload: dict, ctx: JobContext) -> dict:
    return rollout.advance(ctx.session_factory, deploy_id=int(payload["deploy_id"]), idx=int(payload["step"]), settings=ctx.settings)


def watch_rollouts(session: Session, payload: dict, ctx: JobContext) -> dict:
    """Roll back rollouts whose step job died (rollout.watch)."""
    return {"stopped": rollout.watch(session)}
