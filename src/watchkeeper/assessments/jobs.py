"""Scheduled built-in audits: each day every service's built-in suites are measured again,
one job per (service, suite) so one slow or unreachable service delays nobody else."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.queue.context import JobContext
from watchkeeper.assessments import _suites, webcheck
from watchkeeper.assessments import service as assessments
from watchkeeper.catalog import service as catalog
from watchkeeper.egress import Egress
from watchkeeper.errors import InvalidInput, NotFound


def schedule(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Queue today's built-in runs (security only for services with a public URL)."""
    from watchkeeper.queue import service as queue

    day = clock.utcnow().strftime("%Y-%m-%d")
    queued = 0
    for svc in catalog.list_services(session, actor=ctx.actor):
        for suite in _suites.Suite:
            if not _suites.builtin_checks(suite) or (suite is _suites.Suite.SECURITY and not svc.public_url):
                continue
            if queue.enqueue(session, kind="assessments.run", payload={"service": svc.name, "suite": suite.value},
                             dedupe_key=f"assessments.run:{svc.name}:{suite.value}:{day}", max_attempts=2):
                queued += 1
    return {"queued": queued}


def run(session: Session, payload: dict[str, Any], ctx: JobContext) -> dict:
    """Run one suite's built-in checks for one service. The network visit happens outside
    any open transaction; a service deleted or changed meanwhile is skipped, not failed."""
    service, suite = payload["service"], payload["suite"]
    try:
        url = assessments.target_url(session, service=service, suite=suite, actor=ctx.actor)
    except (InvalidInput, NotFound) as exc:
        return {"skipped": exc.message}
    session.rollback()  # end the read transaction before the network visit
    facts = webcheck.gather(url, policy=Egress.from_settings(ctx.settings)) if url else None
    result = assessments.run_builtin(session, service=service, suite=suite, actor=ctx.actor, web=facts)
    return {"run": result.id, "failed": [c.id for c in result.checks if c.status == "fail"]}
