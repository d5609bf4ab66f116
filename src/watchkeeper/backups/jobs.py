"""Worker handlers: `backups.run` does one queued run (queued by service.request_run and
service.schedule), `backups.schedule` queues the runs whose cron slot has come and
raises or resolves the missed-backup and RPO-breach alerts (health.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.backups import health, service
from watchkeeper.queue.context import JobContext


def run(session: Session, payload: dict, ctx: JobContext) -> dict:
    """Run one backup or restore test. Its own short transactions take the job's lock and
    record the outcome; none is open while the tool runs."""
    result = service.execute(ctx.session_factory, run_id=int(payload["run_id"]))
    return {"run": result.id, "status": result.status, "reason": result.reason}


def schedule(session: Session, payload: dict, ctx: JobContext) -> dict:
    """Fail the runs a dead worker left running, queue the runs whose slot has come, then raise
    or resolve the missed-backup and RPO alerts."""
    reaped = service.reap(session)
    return {"reaped": reaped, "queued": service.schedule(session), "signals_changed": health.watch(session)}
