"""Audit rows for the changes every domain makes alike, written once: an update recorded as
the keys that changed, and an object handed over to the config file (`managed_by`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.audit import service as audit


def record_update(session: Session, *, actor: audit.ActorLike, action: str, target: str, before: dict,
                  after: dict) -> None:
    """Record what changed between two snapshots of an object (only the changed keys);
    nothing when nothing did. Does not commit."""
    b, a = audit.diff(before, after)
    if a or b:
        audit.record(session, actor=actor, action=action, target=target, before=b, after=a)


def adopt(session: Session, row: Any, *, kind: str, name: str, actor: audit.ActorLike) -> None:
    """Hand `row`, made at run time, over to the config file (`apply` adopts what the file
    declares): its `managed_by` becomes "config". Audited as `<kind>.adopt`. Does not commit."""
    if row.managed_by != "config":
        row.managed_by = "config"
        session.flush()
        audit.record(session, actor=actor, action=f"{kind}.adopt", target=f"{kind}:{name}",
                     before={"managed_by": "runtime"}, after={"managed_by": "config"})
