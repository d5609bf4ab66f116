"""Worker jobs of the alert pipeline: flush a group when due; fail overdue fire drills."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.queue.context import JobContext
from watchkeeper.alerting import service as alerting


def flush(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Notify one group (scheduled by ingest at its next_flush_at)."""
    result = alerting.flush_group(session, group_id=int(payload["group_id"]), settings=ctx.settings)
    return {"group_id": result.group_id, "notified": result.notified, "firing": result.firing, "resolved": result.resolved,
            "suppressed": result.suppressed, "outbox": result.outbox_ids, "skipped": result.skipped}


def expire_drills(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    return {"failed": alerting.expire_drills(session)}
