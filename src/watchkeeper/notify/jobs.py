"""Worker jobs: deliver one outbox row; sweep for due retries and interrupted sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.egress import Egress
from watchkeeper.queue.context import JobContext
from watchkeeper.notify import delivery

# A row due this long without being sent has lost its delivery job; the sweep sends it.
SWEEP_GRACE = dt.timedelta(seconds=15)


def _worker_name(ctx) -> str:
    return f"{ctx.settings.worker_id or 'worker'}:job{ctx.job_id}"


def deliver(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Deliver the row named in the payload (its own short transactions; see delivery.py)."""
    outcome = delivery.deliver(ctx.session_factory, outbox_id=int(payload["outbox_id"]), worker=_worker_name(ctx),
                               secret=ctx.settings.secret_from_env, owner=ctx.owner,
                               egress=Egress.from_settings(ctx.settings))
    return {"outbox_id": outcome.outbox_id, "status": outcome.status, "detail": outcome.detail[:200]}


def reclaim(session: Session) -> dict:
    """Liveness reclaimer (named in notify/domain.py): recover the sends of dead worker processes."""
    return delivery.reclaim_orphans(session)


def sweep(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Safety net: recover rows whose sender died, and deliver due rows whose job went missing.

    Only rows overdue by `SWEEP_GRACE` are taken (a row made due just now has its delivery
    job, which runs in parallel with the others), one at a time: a claim is held only while
    its own send runs, so a crash leaves at most one of the sweep's rows in flight."""
    with ctx.session_factory() as s:
        recovered = delivery.recover_interrupted(s)
        s.commit()
    sent = 0
    while True:
        with ctx.session_factory() as s:
            claimed = None
            for outbox_id in delivery.due_ids(s, limit=5, overdue=SWEEP_GRACE):
                claimed = delivery.claim(s, outbox_id=outbox_id, worker=_worker_name(ctx), owner=ctx.owner)
                if claimed is not None:
                    break
            s.commit()
        if claimed is None:
            break
        delivery.send_and_record(ctx.session_factory, claimed, secret=ctx.settings.secret_from_env,
                                 egress=Egress.from_settings(ctx.settings))
        sent += 1
    return {**recovered, "attempted": sent}
