"""Readiness evidence `rollback_drilled`: PASS when a rollback drill or a real rollback of the
service within 90 days reached healthy faster than its target (5 minutes unless the service's
deploy policy sets health.target) AND the service's rollback procedure document (a runbook of
kind `rollback-procedure`, from the runbooks domain's port) is reviewed and current; FAIL with
the measured time, or with what is wrong with the document, otherwise; UNKNOWN (blocking like a
failure) while no rollback was ever run, saying how to run one. The deploy gate's
`rollback_drilled` rule uses the measured half (`drill_evidence`); the stage's readiness (the
`readiness` rule) covers the document."""

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


def rollback_drilled(session: Session, service) -> Evidence:
    """The readiness item: a measured drill under its target and a reviewed rollback procedure."""
    from watchkeeper.runbooks import documents

    ev = drill_evidence(session, service)
    doc = documents.reviewed_document(session, service=service.name, kind="rollback-procedure")
    details = {**ev.details, "procedure": {"path": doc.path, "current": doc.current, "reason": doc.reason} if doc else None}
    if ev.status != Status.PASS:
        missing = "" if doc is not None and doc.current else "; the rollback procedure document is missing or not reviewed either"
        return Evidence(ev.status, ev.reason + missing, observed_at=ev.observed_at, link=ev.link, details=details)
    if doc is None:
        return Evidence(Status.FAIL, f"{ev.reason}, but no rollback procedure document names '{service.name}': write one "
                                     f"(`watchkeeper runbook init {service.name} --kind rollback-procedure`) and have it reviewed",
                        observed_at=ev.observed_at, link=ev.link, details=details)
    if not doc.current:
        return Evidence(Status.FAIL, f"{ev.reason}, but the rollback procedure is not reviewed: {doc.reason}",
                        observed_at=ev.observed_at, link=doc.link, details=details)
    return Evidence(Status.PASS, f"{ev.reason}; rollback procedure '{doc.path}' {doc.reason}", observed_at=ev.observed_at,
                    link=ev.link, details=details)
