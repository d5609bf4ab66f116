"""Periodic audit work: signed checkpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.audit.models import AuditCheckpoint, AuditHead
from watchkeeper.audit.signing import Signer
from watchkeeper.config import Settings

MAX_CHECKPOINT_AGE = dt.timedelta(hours=1)


class _Context(Protocol):
    """What this job reads of the queue's JobContext (the queue's tier is above audit's)."""

    settings: Settings


def checkpoint(session: Session, payload: dict[str, Any], ctx: _Context) -> dict:
    """Sign the chain head when enough events arrived, the last checkpoint is an hour old, or
    the head is unsigned; copy the checkpoint to the configured external anchors."""
    pending = audit.events_since_checkpoint(session)
    last_at = session.execute(select(func.max(AuditCheckpoint.at))).scalar()
    head = session.get(AuditHead, 1)
    # Events written by a process without the key leave the head unsigned: vouch for them now.
    stale = (last_at is None or clock.utcnow() - clock.ensure_aware(last_at) >= MAX_CHECKPOINT_AGE
             or (head is not None and head.signature is None))
    if pending == 0 or (pending < ctx.settings.audit_checkpoint_every and not stale and not payload.get("force")):
        return {"signed": False, "pending": pending}
    cp = audit.checkpoint(session, signer=Signer.load_or_create(ctx.settings.audit_key_path()), actor=ctx.actor,
                          anchor_file=ctx.settings.audit_anchor_file, anchor_url=ctx.settings.audit_anchor_url)
    return {"signed": cp is not None, "seq": cp.seq if cp else None}
