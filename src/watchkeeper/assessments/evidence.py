"""Readiness evidence from audit suites.

audits_complete (PROD): every suite passes at level complete. security_review (MMP): the
security suite passes at level standard. Single and batch forms of each.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from watchkeeper.assessments import service as assessments
from watchkeeper.assessments._suites import AuditLevel, Suite
from watchkeeper.evidence import Evidence, Status


def _judge(session: Session, services: Sequence, suites: list[Suite], level: AuditLevel) -> dict[str, Evidence]:
    levels = assessments.suite_levels(session, services, suites, only=level)
    out: dict[str, Evidence] = {}
    for svc in services:
        per = levels[svc.name]
        failing, details = [], {}
        for suite in suites:
            passed, results, _last = per[suite]
            details[suite.value] = passed is not None
            if passed is None:
                failing.append(f"{suite}: {results[0].problems[0]}")
        times = [per[s][2] for s in suites if per[s][2] is not None]
        observed = min(times) if len(times) == len(suites) else None
        link = f"/services/{svc.name}/readiness#audits"
        names = ", ".join(s.value for s in suites)
        if failing:
            more = f" (+{len(failing) - 1} more suite(s) failing)" if len(failing) > 1 else ""
            out[svc.name] = Evidence(Status.FAIL, failing[0] + more, observed_at=observed, link=link,
                                     details={"passes": details, "needed": level.value})
        else:
            out[svc.name] = Evidence(Status.PASS, f"{names} pass at level {level}", observed_at=observed, link=link,
                                     details={"passes": details, "needed": level.value})
    return out


def audits_complete_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return _judge(session, services, list(Suite), AuditLevel.COMPLETE)


def audits_complete(session: Session, service) -> Evidence:
    return audits_complete_batch(session, [service])[service.name]


def security_review_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return _judge(session, services, [Suite.SECURITY], AuditLevel.STANDARD)


def security_review(session: Session, service) -> Evidence:
    return security_review_batch(session, [service])[service.name]
