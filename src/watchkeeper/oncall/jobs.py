"""Worker jobs of on-call: one escalation step, one response-target check (durable timers; see escalation.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.oncall import escalation
from watchkeeper.queue.context import JobContext


def step(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Page the level (or reassignee) the timer stands for, in the job's transaction."""
    return escalation.step(session, escalation_id=int(payload["escalation_id"]), seq=int(payload["seq"]),
                           settings=ctx.settings)


def sla_check(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Flag a response target that passed unmet (see escalation.check_sla)."""
    return escalation.check_sla(session, escalation_id=int(payload["escalation_id"]), kind=str(payload["kind"]))
