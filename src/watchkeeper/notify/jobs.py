"""Worker jobs: deliver one outbox row; sweep for due retries and interrupted sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.notify import delivery


def _worker_name(ctx) -> str:
    return f"{ctx.settings.worker_id or 'worker'}:job{ctx.job_id}"


def deliver(session: Session, payload: dict[str, Any], ctx) -> dict:
    """Deliver the row named in the payload (its own short transactions; see delivery.py)."""
    outcome = delivery.deliver(ctx.session_factory, outbox_id=int(payload["outbox_id"]), worker=_worker_name(ctx),
                               secret=ctx.settings.secret_from_env)
    return {"outbox_id": outcome.outbox_id, "status": outcome.status, "detail": outcome.detail[:200]}


def sweep(session: Session, payload: dict[str, Any], ctx) -> dict:
    """Safety net: recover rows whose sender died, and deliver due rows whose job went missing."""
    with ctx.session_factory() as s:
        recovered = delivery.recover_interrupted(s)
        s.commit()
    sent = 0
    while True:
        with ctx.session_factory() as s:
            ids = delivery.due_ids(s, limit=20)
            claimed = []
            for outbox_id in ids:
                c = delivery.claim(s, outbox_id=outbox_id, worker=_worker_name(ctx))
                if c is not None:
                    claimed.append(c)
            s.commit()
        if not claimed:
            break
        for c in claimed:
            import time

            start = time.perf_counter()
            ok, response, error, retryable = delivery.send(c, secret=ctx.settings.secret_from_env)
            with ctx.session_factory() as s:
                delivery.record(s, c, ok=ok, response=response, error=error, retryable=retryable,
                                latency_ms=(time.perf_counter() - start) * 1000)
                s.commit()
            sent += 1
    return {**recovered, "attempted": sent}
