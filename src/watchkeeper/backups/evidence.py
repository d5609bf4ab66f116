"""Readiness evidence `backup_restore_tested`: PASS when every backup job of the service has a
successful restore test within CADENCE, the measured RPO (now − the data age of the newest
backup that passed a restore test) is within the service's RPO target, and the newest passing
restore test took no longer than its RTO target. A service with no backup job has no evidence
(UNKNOWN, blocking like a failure), saying what to declare."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, durations
from watchkeeper.backups import health
from watchkeeper.backups.models import BackupJob
from watchkeeper.evidence import Evidence, Status

CADENCE = dt.timedelta(days=30)


def restore_tested(session: Session, service) -> Evidence:
    now = clock.utcnow()
    jobs = list(session.execute(select(BackupJob).where(BackupJob.service == service.name).order_by(BackupJob.name)).scalars())
    link = f"/api/v1/backups?service={service.name}"  # no UI page yet: the API lists the jobs
    if not jobs:
        return Evidence(Status.UNKNOWN, f"no backup job is declared for '{service.name}'; declare one under `backups:` "
                                        f"(docs/backups.md), or waive it: `watchkeeper readiness waive {service.name} "
                                        "backup_restore_tested --reason ... --expires-in 30d`", link=link)
    rpo_target, rto_target = service.targets.rpo, service.targets.rto
    problems: list[str] = []
    details: dict = {}
    oldest_test: dt.datetime | None = None
    for job in jobs:
        m = health.measure(session, job)
        rpo = m.rpo(now)
        details[job.name] = {"last_restore_test_at": m.last_restore_test_at.isoformat() if m.last_restore_test_at else None,
                             "rpo_seconds": rpo.total_seconds() if rpo is not None else None, "rto_seconds": m.rto_seconds}
        if m.last_restore_test_at is None:
            problems.append(f"{job.name} has never passed a restore test (run `watchkeeper backup restore-test {job.name}`)")
            continue
        oldest_test = min(oldest_test or m.last_restore_test_at, m.last_restore_test_at)
        if now - m.last_restore_test_at > CADENCE:
            problems.append(f"{job.name}'s last passing restore test is {health.show(now - m.last_restore_test_at)} old "
                            f"(at most {durations.format(CADENCE)}; run `watchkeeper backup restore-test {job.name}`)")
        if rpo_target is not None and rpo is not None and rpo > rpo_target:
            problems.append(f"{job.name}'s measured RPO {health.show(rpo)} exceeds the target {durations.format(rpo_target)}")
        if rto_target is not None and m.rto_seconds is not None and m.rto_seconds > rto_target.total_seconds():
            problems.append(f"{job.name}'s restore took {m.rto_seconds:.1f}s, over the RTO target {durations.format(rto_target)}")
    if problems:
        return Evidence(Status.FAIL, "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else ""),
                        observed_at=now, link=link, details=details)
    targets = "" if rpo_target is not None else "; no RPO target is set (set targets.rpo on the service)"
    return Evidence(Status.PASS, f"every backup job ({len(jobs)}) passed a restore test within {durations.format(CADENCE)}" + targets,
                    observed_at=oldest_test, link=link, details=details)
