"""The measured half of `rollback_drilled`: the newest rollback or drill of a service, its
time-to-healthy against its target, and its age (shared by the readiness evidence and the
deploy gate's rule)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.deploys.models import Rollback
from watchkeeper.evidence import Evidence, Status

WINDOW = dt.timedelta(days=90)


def _show(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


def _latest(session: Session, service: str) -> Rollback | None:
    """The newest finished rollback or drill of the service (any outcome)."""
    return session.execute(select(Rollback).where(Rollback.service == service, Rollback.status.in_(("succeeded", "failed")))
                           .order_by(Rollback.id.desc()).limit(1)).scalar_one_or_none()


def drill_evidence(session: Session, service) -> Evidence:
    """The measured half: the newest rollback or drill, its time against its target, its age."""
    now = clock.utcnow()
    name = service.name
    link = f"/deploys?service={name}"
    row = _latest(session, name)
    if row is None:
        return Evidence(Status.UNKNOWN, f"no rollback or rollback drill of '{name}' is recorded; run `watchkeeper deploy drill {name}` "
                                        "(docs/deploys.md), or waive it", link=link)
    at = clock.ensure_aware(row.finished_at)
    what = "drill" if row.kind == "drill" else "rollback"
    details = {"rollback_id": row.id, "kind": row.kind, "time_to_healthy_seconds": row.time_to_healthy_seconds,
               "target_seconds": row.target_seconds, "finished_at": at.isoformat()}
    if row.status != "succeeded" or row.time_to_healthy_seconds is None:
        measured = f" after {_show(row.time_to_healthy_seconds)}" if row.time_to_healthy_seconds is not None else ""
        return Evidence(Status.FAIL, f"the last {what} (#{row.id}) did not reach healthy{measured}: {(row.reason or 'failed')[:200]}",
                        observed_at=at, link=link, details=details)
    if row.time_to_healthy_seconds >= row.target_seconds:
        return Evidence(Status.FAIL, f"the last {what} (#{row.id}) took {_show(row.time_to_healthy_seconds)} to healthy, over the "
                                     f"{_show(row.target_seconds)} target", observed_at=at, link=link, details=details)
    if now - at > WINDOW:
        return Evidence(Status.FAIL, f"the last {what} (#{row.id}) is {(now - at).days} days old (at most 90); run "
                                     f"`watchkeeper deploy drill {name}`", observed_at=at, link=link, details=details)
    return Evidence(Status.PASS, f"{what} #{row.id} reached healthy in {_show(row.time_to_healthy_seconds)} (target "
                                 f"{_show(row.target_seconds)}) on {at:%Y-%m-%d}", observed_at=at, link=link, details=details)
