"""Readiness evidence for `incident_process`: PASS when severities are defined, the service has
an escalation path for SEV1/SEV2 (an on-call escalation policy covers it), an incident-process
document is current (a runbook of kind `incident-process` naming the service, reviewed as the
runbooks domain requires; else a URL attestation in incidents.process_document reviewed within a year), and an incident or game day on the service within
90 days was acknowledged within its severity's ack target. The reason names every missing part."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, durations
from watchkeeper.evidence import Evidence, Status
from watchkeeper.incidents import settings
from watchkeeper.incidents.models import Incident

WINDOW = dt.timedelta(days=90)
DOCUMENT_REVIEW = dt.timedelta(days=365)


def _exercised(session: Session, service: str, now: dt.datetime) -> tuple[Incident | None, str | None]:
    """The latest incident or drill on `service` within the window that met its ack target, or
    why none did."""
    sevs = settings.severities(session)
    rows = session.execute(select(Incident).where(Incident.detected_at >= now - WINDOW,
                                                  Incident.status.notin_(["cancelled", "merged"]))
                           .order_by(Incident.detected_at.desc(), Incident.id.desc())).scalars()
    late = None
    for row in rows:
        if service not in (row.services or []):
            continue
        target = sevs[row.severity].ack_within if row.severity in sevs else None
        if row.acknowledged_at is not None and target is not None and row.acknowledged_at - row.detected_at <= target:
            return row, None
        if late is None:
            took = "was never acknowledged" if row.acknowledged_at is None else \
                f"was acknowledged after {durations.format(row.acknowledged_at - row.detected_at)}"
            late = (f"incident #{row.id} {took}, over the {row.severity} target of "
                    f"{durations.format(target) if target else '?'}")
    if late:
        return None, f"no incident or drill on it in 90 days met its ack target ({late}); run `watchkeeper incident drill {service}`"
    return None, f"no incident or drill on it in the last 90 days; run a game day: `watchkeeper incident drill {service}`"


def incident_process(session: Session, service) -> Evidence:
    from watchkeeper.oncall import policies

    now = clock.utcnow()
    missing: list[str] = []
    details: dict = {}
    declared = settings.declared_severities(session)
    details["severities"] = [s.name for s in declared]
    if not declared:
        missing.append("severities are not defined (incidents.severities in watchkeeper.yaml)")
    policy = policies.policy_of(session, service=service.name)
    details["escalation_policy"] = policy.name if policy else None
    if policy is None:
        missing.append("no escalation path for SEV1/SEV2: no on-call escalation policy covers it (oncall.policies)")
    document, why_not = _document(session, service.name, now)
    details["process_document"] = document
    if why_not:
        missing.append(why_not)
    row, why = _exercised(session, service.name, now)
    details["exercised_by"] = row.id if row else None
    if why:
        missing.append(why)
    if missing:
        return Evidence(status=Status.FAIL, reason="; ".join(missing), observed_at=now, link="/incidents", details=details)
    kind = "game day" if row.drill else "incident"
    return Evidence(status=Status.PASS, observed_at=now, link=f"/incidents/{row.id}", details=details,
                    reason=f"severities defined, escalation policy {policy.name}, process document {document}, "
                           f"{kind} #{row.id} acknowledged within its {row.severity} target")


def _document(session: Session, service: str, now: dt.datetime) -> tuple[str | None, str | None]:
    """The incident-process document: a runbook of kind `incident-process` naming the service
    (the runbooks domain judges its review), else the URL attestation in
    incidents.process_document. Returns (what it is, why it does not count)."""
    from watchkeeper.runbooks import documents

    doc = documents.reviewed_document(session, service=service, kind="incident-process")
    if doc is not None:
        if doc.current:
            return f"{doc.path} reviewed {doc.last_reviewed}", None
        return doc.path, f"the incident-process runbook {doc.path} does not count: {doc.reason}"
    attested = settings.process_document(session)
    if attested is None:
        return None, ("no incident-process document: add a runbook with `kind: incident-process` naming the service "
                      "(or attest a URL in incidents.process_document)")
    if dt.datetime.combine(attested.reviewed_at, dt.time(), tzinfo=dt.UTC) < now - DOCUMENT_REVIEW:
        return attested.url, f"the incident-process document was last reviewed {attested.reviewed_at}; review it (within a year)"
    return f"{attested.url} reviewed {attested.reviewed_at}", None


def incident_process_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return {s.name: incident_process(session, s) for s in services}
