"""The worker's own housekeeping jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.queue.context import JobContext
from watchkeeper.queue.models import Job, WorkerProcess
from watchkeeper.queue.schemas import JobStatus

KEEP_FINISHED = dt.timedelta(days=7)


def prune(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Delete succeeded jobs older than a week (dead jobs stay until someone looks), and the
    rows of worker processes that ended more than a week ago."""
    cutoff = clock.utcnow() - KEEP_FINISHED
    res = session.execute(delete(Job).where(Job.status == JobStatus.SUCCEEDED.value, Job.finished_at < cutoff))
    gone = session.execute(delete(WorkerProcess).where(WorkerProcess.ended_at < cutoff))
    return {"deleted": res.rowcount, "worker_processes": gone.rowcount}


def echo(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """A diagnostic job: returns its payload (after an optional sleep), or fails on request."""
    import time

    if payload.get("sleep"):
        time.sleep(float(payload["sleep"]))
    if payload.get("fail"):
        raise RuntimeError(str(payload["fail"]))
    return {"echo": payload.get("message"), "attempt": ctx.attempt}
