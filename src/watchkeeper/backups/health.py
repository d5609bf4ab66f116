"""What the backups of a job say about the service, measured: the RPO (now − when the data of
the newest backup that passed a restore test was taken), the RTO (how long the newest passing
restore test took), and whether a scheduled backup ran. Used by the readiness evidence and by
the alerts the schedule job raises through the core signals:

    BackupMissed       a scheduled job has no successful backup since the slot it should have
                       filled, past that slot + the job's timeout + GRACE (heartbeat semantics)
    BackupRPOBreached  the service has an RPO target and the job's measured RPO exceeds it
                       (a new job gets one RPO target of time to pass its first restore test)
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper import clock, cron, durations
from watchkeeper.auth.service import Actor
from watchkeeper.backups.models import BackupJob, BackupRun
from watchkeeper.catalog import service as catalog
from watchkeeper.signals import service as signals
from watchkeeper.signals.schemas import SignalFilter

GRACE = dt.timedelta(minutes=5)
SOURCE = "backups"


@dataclasses.dataclass(frozen=True)
class Measured:
    last_backup_at: dt.datetime | None  # start of the newest successful backup
    last_restore_test_at: dt.datetime | None  # end of the newest successful restore test
    tested_data_at: dt.datetime | None  # data age basis: the backup the newest passing restore test restored
    rto_seconds: float | None  # duration of the newest passing restore test

    def rpo(self, now: dt.datetime) -> dt.timedelta | None:
        return now - self.tested_data_at if self.tested_data_at else None


def show(delta: dt.timedelta) -> str:
    """A measured duration as people read it: to the second under an hour, else to the minute."""
    seconds = round(delta.total_seconds())
    return durations.format(dt.timedelta(seconds=seconds if seconds < 3600 else seconds - seconds % 60))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return clock.ensure_aware(value) if value is not None else None


def measure(session: Session, job: BackupJob) -> Measured:
    last_backup = session.execute(select(func.max(BackupRun.started_at)).where(
        BackupRun.job_id == job.id, BackupRun.kind == "backup", BackupRun.status == "succeeded")).scalar()
    test = session.execute(select(BackupRun).where(
        BackupRun.job_id == job.id, BackupRun.kind == "restore_test", BackupRun.status == "succeeded")
        .order_by(BackupRun.finished_at.desc(), BackupRun.id.desc()).limit(1)).scalar_one_or_none()
    newest_data = session.execute(select(func.max(BackupRun.data_at)).where(
        BackupRun.job_id == job.id, BackupRun.kind == "restore_test", BackupRun.status == "succeeded")).scalar()
    return Measured(last_backup_at=_aware(last_backup), last_restore_test_at=_aware(test.finished_at) if test else None,
                    tested_data_at=_aware(newest_data), rto_seconds=test.duration_seconds if test else None)


def missed_since(job: BackupJob, measured: Measured, now: dt.datetime) -> dt.datetime | None:
    """When the job became overdue (None: on time, or not scheduled)."""
    if not job.schedule or not job.enabled:
        return None
    since = measured.last_backup_at or clock.ensure_aware(job.created_at)
    expected = cron.next_run(job.schedule, after=since, timezone=job.timezone)
    if expected is None:
        return None
    deadline = expected + dt.timedelta(seconds=job.timeout_seconds) + GRACE
    return deadline if now > deadline else None


def rpo_breached_since(job: BackupJob, measured: Measured, target: dt.timedelta | None, now: dt.datetime) -> dt.datetime | None:
    if target is None or not job.enabled:
        return None
    basis = measured.tested_data_at or clock.ensure_aware(job.created_at)
    return basis + target if now > basis + target else None


_WATCHER = Actor.system("backups", "worker")  # the schedule job reads its own signals' history


def _state(session: Session, name: str):
    last = signals.list_signals(session, filter=SignalFilter(name=name, limit=1), actor=_WATCHER)
    return last[0] if last and last[0].firing else None


def _transition(session: Session, job: BackupJob, *, alertname: str, since: dt.datetime | None, severity: str,
                summary: str, description: str) -> bool:
    name = f"backup:{job.name}:{alertname}"
    firing = _state(session, name)
    if (since is not None) == (firing is not None):
        return False
    signals.emit(session, source=SOURCE, name=name, firing=since is not None, alertname=alertname,
                 labels={"backup": job.name, "backup_kind": job.kind},
                 annotations={"summary": summary, "description": description},
                 starts_at=since if since is not None else firing.starts_at, service=job.service, severity=severity,
                 generator_url=f"/backups/{job.name}")
    return True


def watch(session: Session) -> int:
    """Raise or resolve BackupMissed and BackupRPOBreached for every job. Returns how many
    signals changed. Does not commit."""
    now = clock.utcnow()
    changed = 0
    targets: dict[str, dt.timedelta | None] = {}
    for job in session.execute(select(BackupJob).order_by(BackupJob.id)).scalars():
        if job.service not in targets:
            svc = catalog.find_service(session, name=job.service)
            targets[job.service] = svc.targets.rpo if svc else None
        m = measure(session, job)
        missed = missed_since(job, m, now)
        last = m.last_backup_at.strftime("%Y-%m-%d %H:%M UTC") if m.last_backup_at else "never"
        changed += _transition(
            session, job, alertname="BackupMissed", since=missed, severity="warning",
            summary=f"backup job {job.name} of {job.service} did not run on schedule",
            description=f"no successful backup since its slot ({job.schedule} {job.timezone}); last one: {last}. "
                        f"`watchkeeper backup history {job.name}` shows the runs")
        target = targets[job.service]
        breach = rpo_breached_since(job, m, target, now)
        rpo = m.rpo(now)
        changed += _transition(
            session, job, alertname="BackupRPOBreached", since=breach, severity="critical",
            summary=f"measured RPO of backup job {job.name} exceeds {job.service}'s target",
            description=(f"the newest backup that passed a restore test holds data from {show(rpo)} ago"
                         if rpo is not None else "no backup of this job has passed a restore test yet")
                        + (f"; target {durations.format(target)}" if target else "")
                        + f". Run `watchkeeper backup restore-test {job.name}`")
    return changed
