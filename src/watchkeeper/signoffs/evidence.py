"""Readiness evidence: has a checkpoint been signed off by the stakeholders it needs?

refine_signoff answers the PROD item, stakeholder_signoff the MMP (launch) one. Each comes in
a single form `(session, service)` and a batch form `(session, services)`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from watchkeeper.evidence import Evidence, Status
from watchkeeper.signoffs import service as signoffs


def _checkpoint(session: Session, services: Sequence, checkpoint: str) -> dict[str, Evidence]:
    roles = {r.name: r for r in signoffs.roles(session)}
    required = sorted(n for n, r in roles.items() if checkpoint in r.required_for)
    by_service = signoffs.active_signoffs(session, service_ids=[s.id for s in services], checkpoint=checkpoint)
    out: dict[str, Evidence] = {}
    for svc in services:
        how = f"`watchkeeper signoff {svc.name} --checkpoint {checkpoint} --role ROLE --note ...`"
        link = f"/services/{svc.name}/readiness#signoffs"
        if not roles:
            out[svc.name] = Evidence(Status.FAIL, "no stakeholder roles are defined; declare readiness.stakeholder_roles "
                                                  f"in watchkeeper.yaml, then {how}", link=link)
            continue
        active = [s for s in by_service.get(svc.id, []) if s.role in roles]
        signed = {s.role for s in active}
        details = {"checkpoint": checkpoint, "required_roles": required,
                   "signoffs": [{"id": s.id, "role": s.role, "signer": s.signer, "signed_at": s.signed_at.isoformat()} for s in active]}
        latest = active[0].signed_at if active else None
        missing = [r for r in required if r not in signed]
        if missing:
            out[svc.name] = Evidence(
                Status.FAIL, f"the {checkpoint} checkpoint lacks a sign-off from {', '.join(missing)}; "
                             + how.replace("ROLE", missing[0]), observed_at=latest, link=link, details=details)
        elif not active:
            out[svc.name] = Evidence(Status.FAIL, f"no stakeholder has signed off the {checkpoint} checkpoint; {how}",
                                     link=link, details=details)
        else:
            who = ", ".join(f"{s.signer} ({s.role})" for s in active)
            out[svc.name] = Evidence(Status.PASS, f"{checkpoint} signed off by {who}", observed_at=latest, link=link,
                                     details=details)
    return out


def refine_signoff(session: Session, service) -> Evidence:
    return _checkpoint(session, [service], "refine")[service.name]


def refine_signoff_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return _checkpoint(session, services, "refine")


def stakeholder_signoff(session: Session, service) -> Evidence:
    return _checkpoint(session, [service], "launch")[service.name]


def stakeholder_signoff_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return _checkpoint(session, services, "launch")
