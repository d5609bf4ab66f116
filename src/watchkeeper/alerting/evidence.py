"""Readiness evidence from the alert pipeline: is alerting for this service proven end to end?"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.alerting import service as alerting
from watchkeeper.alerting.models import Drill
from watchkeeper.evidence import Evidence, Status


def _judge(name: str, passed: Drill | None, latest: Drill | None) -> Evidence:
    now = clock.utcnow()
    link = f"/alerts/drills?service={name}"
    if passed is not None and passed.acked_at and now - passed.acked_at <= alerting.DRILL_EVIDENCE_WINDOW:
        return Evidence(Status.PASS, f"fire drill acknowledged by {passed.acked_by} at {passed.acked_at:%Y-%m-%d %H:%M} UTC",
                        observed_at=passed.acked_at, link=link, details={"drill": passed.id, "receivers": passed.receivers})
    if latest is not None and latest.status == "pending":
        return Evidence(Status.WARN, f"fire drill {latest.id} is waiting for an acknowledgement until "
                        f"{latest.deadline_at:%Y-%m-%d %H:%M} UTC", observed_at=latest.started_at, link=link)
    if passed is not None:
        return Evidence(Status.FAIL, f"the last acknowledged fire drill is from {passed.acked_at:%Y-%m-%d}, older than 30 days; "
                        f"run `watchkeeper alert drill {name}`", observed_at=passed.acked_at, link=link)
    failed = f" (last drill {latest.id} failed: nobody acknowledged in time)" if latest is not None and latest.status == "failed" else ""
    return Evidence(Status.FAIL, f"no fire drill acknowledged in the last 30 days{failed}; run `watchkeeper alert drill {name}` "
                    "and acknowledge the alert when it arrives", link=link)


def _drills(session: Session, names: list[str]) -> tuple[dict[str, Drill], dict[str, Drill]]:
    # Ordered by time, so each dict keeps a service's newest row.
    passed = {d.service: d for d in session.execute(
        select(Drill).where(Drill.service.in_(names), Drill.status == "passed").order_by(Drill.service, Drill.acked_at, Drill.id)).scalars()}
    latest = {d.service: d for d in session.execute(
        select(Drill).where(Drill.service.in_(names)).order_by(Drill.service, Drill.started_at, Drill.id)).scalars()}
    return passed, latest


def alerting_active(session: Session, service) -> Evidence:
    """Pass when a fire drill for the service was acknowledged by a person within 30 days."""
    passed, latest = _drills(session, [service.name])
    return _judge(service.name, passed.get(service.name), latest.get(service.name))


def alerting_active_batch(session: Session, services) -> dict[str, Evidence]:
    """The same answer for many services with two queries (the scorecard, the periodic job)."""
    names = [s.name for s in services]
    if not names:
        return {}
    passed, latest = _drills(session, names)
    return {n: _judge(n, passed.get(n), latest.get(n)) for n in names}
