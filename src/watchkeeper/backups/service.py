"""Backup jobs and their runs: declare, change, remove, list (filtered by scope), ask for a run
or a restore test, read the history — and `execute`, which a worker job calls to do one run.

Permissions (checked here, on the job's service and its team): backup.read, backup.create,
backup.update, backup.delete, backup.run (a backup now), backup.restore (a restore test now).
Every change and every request is audited; secrets are env-var names, so nothing secret can
reach the audit log. A run takes the job's lock (a conditional UPDATE committed before the
tool starts), so no two runs of one job overlap across worker processes; a run that finds the
lock taken is recorded as skipped, naming the run that holds it."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from watchkeeper import clock, cron
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.backups import _kinds
from watchkeeper.backups.models import BackupJob, BackupRun
from watchkeeper.backups.schemas import BackupCreate, BackupRead, RunRead
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.queue import service as queue

log = logging.getLogger(__name__)

KINDS = ("backup", "restore_test")
MAX_OUTPUT = 64 * 1024
LOCK_MARGIN = dt.timedelta(seconds=60)


# ---------------------------------------------------------------------------- reading


def _read(job: BackupJob) -> BackupRead:
    read = BackupRead.model_validate(job)
    read.running_run_id = job.lock_run_id if job.lock_until and clock.ensure_aware(job.lock_until) > clock.utcnow() else None
    return read


def _run_read(run: BackupRun, job_name: str, *, with_output: bool = False) -> RunRead:
    read = RunRead.model_validate({**{c: getattr(run, c) for c in RunRead.model_fields if c not in ("job", "output")},
                                   "job": job_name})
    if with_output:
        read.output = run.output
    return read


def _get(session: Session, name: str) -> BackupJob:
    job = session.execute(select(BackupJob).where(BackupJob.name == name)).scalar_one_or_none()
    if job is None:
        raise NotFound(f"no backup job named '{name[:100]}'; `watchkeeper backup list` shows them", code="backup.not_found")
    return job


def _team_of(session: Session, service: str) -> str | None:
    svc = catalog.find_service(session, name=service)
    return svc.team if svc else None


def _require(session: Session, actor: Actor, permission: str, job_or_service: BackupJob | str) -> None:
    service = job_or_service if isinstance(job_or_service, str) else job_or_service.service
    require(actor, permission, team=_team_of(session, service), service=service)


def get_backup(session: Session, *, name: str, actor: Actor) -> BackupRead:
    job = _get(session, name)
    _require(session, actor, "backup.read", job)
    return _read(job)


def list_backups(session: Session, *, actor: Actor, service: str | None = None) -> list[BackupRead]:
    """Backup jobs the actor may read (of one service, or all)."""
    require(actor, "backup.read")
    query = select(BackupJob).order_by(BackupJob.service, BackupJob.name)
    if service:
        query = query.where(BackupJob.service == service)
    teams: dict[str, str | None] = {}
    out = []
    for job in session.execute(query).scalars():
        if job.service not in teams:
            teams[job.service] = _team_of(session, job.service)
        if actor.can("backup.read", team=teams[job.service], service=job.service):
            out.append(_read(job))
    return out


def history(session: Session, *, name: str, actor: Actor, kind: str | None = None, limit: int = 50,
            with_output: bool = False) -> list[RunRead]:
    """The job's runs, newest first."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be backup or restore_test, not {kind[:40]!r}", field="kind")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", field="limit")
    job = _get(session, name)
    _require(session, actor, "backup.read", job)
    query = select(BackupRun).where(BackupRun.job_id == job.id).order_by(BackupRun.id.desc()).limit(limit)
    if kind:
        query = query.where(BackupRun.kind == kind)
    return [_run_read(r, job.name, with_output=with_output) for r in session.execute(query).scalars()]


def get_run(session: Session, *, run_id: int, actor: Actor) -> RunRead:
    run = session.get(BackupRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"no backup run with id {run_id}", code="backup.run_not_found")
    job = session.get(BackupJob, run.job_id)
    _require(session, actor, "backup.read", job)
    return _run_read(run, job.name, with_output=True)


# ---------------------------------------------------------------------------- changing


def as_create(job: BackupJob | BackupRead) -> BackupCreate:
    """A stored job in the shape it is declared (watchkeeper.yaml compares the two)."""
    return BackupCreate(name=job.name, service=job.service, source=job.source, schedule=job.schedule, timezone=job.timezone,
                        timeout=dt.timedelta(seconds=job.timeout_seconds), retention=job.retention,
                        restore_test=job.restore_test, enabled=job.enabled)


def _assign(job: BackupJob, data: BackupCreate) -> None:
    job.service, job.kind = data.service, data.source.kind
    job.source = data.source.model_dump(mode="json", exclude_none=True)
    job.schedule, job.timezone = data.schedule, data.timezone
    job.timeout_seconds = int(data.timeout.total_seconds())
    job.retention = data.retention.model_dump(mode="json", exclude_none=True)
    job.restore_test = data.restore_test.model_dump(mode="json", exclude_none=True)
    job.enabled = data.enabled
    now = clock.utcnow()
    job.next_backup_at = _next(data.schedule, data.timezone, now) if data.enabled else None
    job.next_restore_test_at = _next(data.restore_test.schedule, data.timezone, now) if data.enabled else None


def _next(line: str | None, tz: str, after: dt.datetime) -> dt.datetime | None:
    return cron.next_run(line, after=after, timezone=tz) if line else None


def create_backup(session: Session, *, data: BackupCreate, actor: Actor, managed_by: str = "runtime") -> BackupRead:
    """Declare a backup job. Permission backup.create on its service. Audited. Does not commit."""
    svc = catalog.lookup_service(session, name=data.service)
    require(actor, "backup.create", team=svc.team, service=svc.name)
    if session.execute(select(BackupJob.id).where(BackupJob.name == data.name)).first():
        raise Conflict(f"a backup job named '{data.name}' already exists; pick another name", code="backup.exists", field="name")
    job = BackupJob(name=data.name, created_by=actor.name, created_at=clock.utcnow(), managed_by=managed_by)
    _assign(job, data)
    session.add(job)
    session.flush()
    audit.record(session, actor=actor, action="backup.create", target=f"backup:{job.name}", after=data.model_dump(mode="json", exclude_none=True))
    return _read(job)


def update_backup(session: Session, *, data: BackupCreate, actor: Actor) -> BackupRead:
    """Change a backup job in place. Permission backup.update on its service before and after. Audited."""
    job = _get(session, data.name)
    _require(session, actor, "backup.update", job)
    if data.service != job.service:
        svc = catalog.lookup_service(session, name=data.service)
        require(actor, "backup.update", team=svc.team, service=svc.name)
    before = as_create(job).model_dump(mode="json", exclude_none=True)
    _assign(job, data)
    session.flush()
    changed_before, changed_after = audit.diff(before, data.model_dump(mode="json", exclude_none=True))
    audit.record(session, actor=actor, action="backup.update", target=f"backup:{job.name}",
                 before=changed_before, after=changed_after)
    return _read(job)


def adopt_backup(session: Session, *, name: str, actor: Actor) -> None:
    """Hand a job made at run time over to watchkeeper.yaml. Audited."""
    job = _get(session, name)
    _require(session, actor, "backup.update", job)
    job.managed_by = "config"
    session.flush()
    audit.record(session, actor=actor, action="backup.adopt", target=f"backup:{name}",
                 before={"managed_by": "runtime"}, after={"managed_by": "config"})


def delete_backup(session: Session, *, name: str, actor: Actor) -> None:
    """Remove a backup job and its run history (the backups themselves stay where they are). Audited."""
    job = _get(session, name)
    _require(session, actor, "backup.delete", job)
    before = as_create(job).model_dump(mode="json", exclude_none=True)
    session.execute(BackupRun.__table__.delete().where(BackupRun.job_id == job.id))
    session.delete(job)
    session.flush()
    audit.record(session, actor=actor, action="backup.delete", target=f"backup:{name}", before=before)


def request_run(session: Session, *, name: str, kind: str, actor: Actor, trigger: str = "manual") -> RunRead:
    """Queue a backup (permission backup.run) or a restore test (backup.restore) of a job; a
    worker runs it. Audited. Does not commit."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be backup or restore_test, not {kind[:40]!r}", field="kind")
    job = _get(session, name)
    _require(session, actor, "backup.run" if kind == "backup" else "backup.restore", job)
    run = _queue_run(session, job, kind=kind, trigger=trigger, requested_by=actor.name)
    audit.record(session, actor=actor, action="backup.run" if kind == "backup" else "backup.restore_test",
                 target=f"backup:{name}", after={"run": run.id})
    return _run_read(run, job.name)


def _queue_run(session: Session, job: BackupJob, *, kind: str, trigger: str, requested_by: str,
               dedupe_key: str | None = None) -> BackupRun:
    run = BackupRun(job_id=job.id, kind=kind, status="queued", trigger=trigger, requested_by=requested_by,
                    queued_at=clock.utcnow(), details={})
    session.add(run)
    session.flush()
    queue.enqueue(session, kind="backups.run", payload={"run_id": run.id}, dedupe_key=dedupe_key)
    return run


# ---------------------------------------------------------------------------- the worker's side


def reap(session: Session) -> int:
    """Runs left `running` by a worker process that died: once the job's lock no longer names
    them (expired, or taken by a later run) they are failed with that reason. Does not commit."""
    now = clock.utcnow()
    reaped = 0
    for run, job in session.execute(select(BackupRun, BackupJob).join(BackupJob, BackupJob.id == BackupRun.job_id)
                                    .where(BackupRun.status == "running")).all():
        held = job.lock_run_id == run.id and job.lock_until is not None and clock.ensure_aware(job.lock_until) >= now
        if not held:
            run.status, run.finished_at = "failed", now
            run.reason = "the worker process running it stopped before it finished (its lock expired)"
            if job.lock_run_id == run.id:
                job.lock_run_id, job.lock_until = None, None
            reaped += 1
    session.flush()
    return reaped


def schedule(session: Session) -> int:
    """Queue the runs whose cron slot has come (called every minute by the leader). A slot is
    queued once however many leaders ask (the queue's dedupe key names it). Does not commit."""
    now = clock.utcnow()
    queued = 0
    for job in session.execute(select(BackupJob).where(BackupJob.enabled.is_(True), or_(
            BackupJob.next_backup_at <= now, BackupJob.next_restore_test_at <= now))).scalars():
        for kind, column, line in (("backup", "next_backup_at", job.schedule),
                                   ("restore_test", "next_restore_test_at", job.restore_test.get("schedule"))):
            due = getattr(job, column)
            if due is None or clock.ensure_aware(due) > now:
                continue
            key = f"backups:{job.id}:{kind}:{clock.ensure_aware(due).isoformat()}"
            _queue_run(session, job, kind=kind, trigger="schedule", requested_by="schedule", dedupe_key=key)
            setattr(job, column, _next(line, job.timezone, now))
            queued += 1
    session.flush()
    return queued


def _latest_backup(session: Session, job_id: int) -> BackupRun | None:
    return session.execute(select(BackupRun).where(
        BackupRun.job_id == job_id, BackupRun.kind == "backup", BackupRun.status == "succeeded")
        .order_by(BackupRun.id.desc()).limit(1)).scalar_one_or_none()


def _cap(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_OUTPUT:
        return text
    return "[… output cut to its last 64 KiB …]\n" + data[-MAX_OUTPUT:].decode("utf-8", "replace")


def execute(session_factory: Callable[[], Session], *, run_id: int) -> RunRead:
    """Do one queued run: take the job's lock, run the tool with no transaction open, record
    the outcome and let go of the lock. Each step commits on its own."""
    with session_factory() as s:
        run = s.get(BackupRun, run_id)
        if run is None:
            raise NotFound(f"no backup run with id {run_id}", code="backup.run_not_found")
        job = s.get(BackupJob, run.job_id)
        if run.status != "queued":
            return _run_read(run, job.name)
        now = clock.utcnow()
        taken = s.execute(update(BackupJob).where(
            BackupJob.id == job.id, or_(BackupJob.lock_run_id.is_(None), BackupJob.lock_until < now))
            .values(lock_run_id=run.id, lock_until=now + dt.timedelta(seconds=job.timeout_seconds) + LOCK_MARGIN)
            .execution_options(synchronize_session=False)).rowcount == 1
        if not taken:
            holder = s.execute(select(BackupJob.lock_run_id).where(BackupJob.id == job.id)).scalar()
            run.status, run.finished_at = "skipped", now
            run.reason = f"run {holder} of backup job '{job.name}' was still running; runs of one job never overlap"
            s.commit()
            return _run_read(run, job.name)
        run.status, run.started_at = "running", now
        source = None
        if run.kind == "restore_test":
            source = _latest_backup(s, job.id)
            if source is not None:
                run.backup_run_id, run.data_at = source.id, source.data_at
        spec = _kinds.Job(name=job.name, kind=job.kind, source=dict(job.source), retention=dict(job.retention),
                          restore_test=dict(job.restore_test), timeout=float(job.timeout_seconds))
        artifact = source.artifact if source is not None else None
        s.commit()
    started = clock.utcnow()
    t0 = time.monotonic()
    try:
        outcome = _kinds.backup(spec, started=started) if run.kind == "backup" else _kinds.restore_test(spec, artifact=artifact)
        status, reason = "succeeded", None
    except _kinds.Failed as exc:
        outcome, status, reason = getattr(exc, "outcome", None) or _kinds.Outcome(), "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - a run must end recorded and unlocked whatever went wrong
        log.exception("backup run crashed", extra={"run_id": run_id})
        outcome, status, reason = _kinds.Outcome(), "failed", f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
    seconds = time.monotonic() - t0
    with session_factory() as s:
        run = s.get(BackupRun, run_id)
        run.status, run.reason, run.finished_at, run.duration_seconds = status, reason, clock.utcnow(), round(seconds, 3)
        run.details = outcome.details
        run.output = _cap("\n".join(outcome.output)) if outcome.output else None
        if run.kind == "backup":
            run.artifact, run.size_bytes = outcome.artifact, outcome.size_bytes
            if status == "succeeded":
                run.data_at = started
        s.execute(update(BackupJob).where(BackupJob.id == run.job_id, BackupJob.lock_run_id == run.id)
                  .values(lock_run_id=None, lock_until=None).execution_options(synchronize_session=False))
        s.commit()
        job = s.get(BackupJob, run.job_id)
        return _run_read(run, job.name, with_output=True)
