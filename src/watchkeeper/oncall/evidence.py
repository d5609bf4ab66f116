"""Readiness evidence for `oncall_coverage`: the coverage analysis of the next 14 days
(coverage.py). Until the installation has any escalation policy the on-call domain is not in
use, and the item stays UNKNOWN with the checklist's hint (waive it or add a policy)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.evidence import Evidence, Status
from watchkeeper.oncall import coverage as analysis
from watchkeeper.oncall import policies


def oncall_coverage(session: Session, service) -> Evidence:
    if not policies.any_policy(session):
        return Evidence.unknown("no on-call schedules are tracked yet: no escalation policy exists; "
                                "add one under oncall.policies (docs/oncall.md)")
    report = analysis.analyse(session, service=service, days=analysis.DEFAULT_DAYS)
    first = report.gaps[0] if report.gaps else None
    return Evidence(
        status=Status(report.status), reason=report.reason, observed_at=clock.utcnow(),
        link=f"/api/v1/oncall/coverage/{service.name}",
        details={"policy": report.policy, "gaps": len(report.gaps), "bus_factor": report.bus_factor,
                 "first_gap": first.start.isoformat() if first else None, "contactless": report.contactless},
    )


def oncall_coverage_batch(session: Session, services: Sequence) -> dict[str, Evidence]:
    return {s.name: oncall_coverage(session, s) for s in services}
