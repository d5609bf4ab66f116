"""Worker handlers: `runbooks.sync` re-reads the folder (every 5 minutes), `runbooks.review_reminders`
writes reminder emails to owners whose documents' reviews expire soon (hourly),
`runbooks.run_step` runs one confirmed step (queued by steps.run_step)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.egress import Egress
from watchkeeper.queue.context import JobContext
from watchkeeper.runbooks import reminders, steps
from watchkeeper.runbooks import service as runbooks


def sync(session: Session, payload: dict, ctx: JobContext) -> dict:
    """Fail step runs a dead worker left running, then sync the configured folder (nothing to
    do when none is configured)."""
    reaped = steps.reap(session)
    if runbooks.settings_row(session) is None:
        return {"configured": False, "reaped": reaped}
    result = runbooks.sync(session, actor=ctx.actor)
    return {**result.model_dump(), "reaped": reaped}


def review_reminders(session: Session, payload: dict, ctx: JobContext) -> dict:
    return {"reminders": reminders.send(session)}


def run_step(session: Session, payload: dict, ctx: JobContext) -> dict:
    result = steps.execute(ctx.session_factory, run_id=int(payload["run_id"]), egress=Egress.from_settings(ctx.settings))
    return {"run": result.id, "status": result.status, "exit_code": result.exit_code}
