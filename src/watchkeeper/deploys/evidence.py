"""Readiness evidence `rollback_drilled`: PASS when a rollback drill or a real rollback of the
service within 90 days reached healthy faster than its target (5 minutes unless the service's
deploy policy sets health.target) AND the service's rollback procedure document (a runbook of
kind `rollback-procedure`, from the runbooks domain's port) is reviewed and current; FAIL with
the measured time, or with what is wrong with the document, otherwise; UNKNOWN (blocking like a
failure) while no rollback was ever run, saying how to run one. The deploy gate's
`rollback_drilled` rule uses the measured half (`_measured.drill_evidence`); the stage's readiness (the
`readiness` rule) covers the document."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.deploys import _measured
from watchkeeper.evidence import Evidence, Status


def rollback_drilled(session: Session, service) -> Evidence:
    """The readiness item: a measured drill under its target and a reviewed rollback procedure."""
    from watchkeeper.runbooks import documents

    ev = _measured.drill_evidence(session, service)
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
