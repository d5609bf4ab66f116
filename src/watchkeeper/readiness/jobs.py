"""Continuous evaluation: the periodic refresh of every service, and a coalesced refresh of
one service soon after its evidence changes (a sign-off, an audit result, a waiver, a signal
from monitoring)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.queue.context import JobContext
from watchkeeper.readiness import continuous

# Changes within one window are folded into one refresh that runs when the window closes.
COALESCE = dt.timedelta(seconds=30)


def refresh(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Re-evaluate `payload["services"]` (default: every service) and record changes."""
    names = payload.get("services")
    summary = continuous.refresh(session, actor=ctx.actor, services=list(names) if names else None,
                                base_url=ctx.settings.public_url)
    return summary.model_dump()


def queue_refresh(session: Session, event) -> None:
    """Event subscriber (wired in app.wire): queue a refresh of the event's service."""
    from watchkeeper.queue import service as queue

    name = getattr(event, "service", None)
    if not name or getattr(event, "source", None) == "readiness":
        return
    now = clock.utcnow()
    window = int(now.timestamp() // COALESCE.total_seconds())
    run_after = dt.datetime.fromtimestamp((window + 1) * COALESCE.total_seconds(), tz=dt.timezone.utc)
    queue.enqueue(session, kind="readiness.refresh", payload={"services": [name]}, run_after=run_after,
                  dedupe_key=f"readiness.refresh:{name}:{window}", max_attempts=3)
