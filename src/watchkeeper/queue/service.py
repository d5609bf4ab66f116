"""Queue operations: enqueue, claim with a lease, finish, fail with backoff, inspect.

Claiming works in two steps that are safe with any number of workers on either store:
candidates are selected (on PostgreSQL with FOR UPDATE SKIP LOCKED so workers do not queue
behind each other), then each is taken with a conditional UPDATE that only succeeds while the
job is still free; a job is ours only if exactly one row changed. Completion is conditional on
the lease token, so a worker whose lease expired (and whose job was taken over) cannot
overwrite the newer attempt's outcome.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import require
from watchkeeper.db.engine import is_postgres
from watchkeeper.errors import Conflict, NotFound
from watchkeeper.queue.models import Job, WorkerProcess
from watchkeeper.queue.schemas import JobFilter, JobRead, JobStatus, QueueStats

# A worker process's `worker_process.status`.
RUNNING, STOPPED, DEAD = "running", "stopped", "dead"

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
DEFAULT_MAX_ATTEMPTS = 5


def backoff(attempt: int) -> dt.timedelta:
    """Delay before retry number `attempt` (1-based): 5 s, 10 s, 20 s … capped at an hour."""
    return dt.timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0), BACKOFF_MAX_SECONDS))


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any] | None = None,
    run_after: dt.datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Queue a job in the caller's transaction. With `dedupe_key`, a second enqueue of the same
    key is a no-op and returns None. `max_attempts` overrides the job kind's default.
    Does not commit."""
    now = clock.utcnow()
    job = Job(
        kind=kind, payload=payload or {}, status=JobStatus.QUEUED.value, dedupe_key=dedupe_key,
        run_after=run_after or now, max_attempts=max_attempts, created_at=now, attempts=0,
    )
    if dedupe_key is None:
        session.add(job)
        session.flush()
        return job.id
    if session.execute(select(Job.id).where(Job.dedupe_key == dedupe_key)).first():
        return None
    nested = session.begin_nested()
    try:
        session.add(job)
        session.flush()
    except IntegrityError:
        nested.rollback()
        return None
    nested.commit()
    return job.id


def _claimable(now: dt.datetime):
    return or_(
        and_(Job.status == JobStatus.QUEUED.value, Job.run_after <= now),
        and_(Job.status == JobStatus.RUNNING.value, Job.lease_until < now),
    )


def claim(
    session: Session, *, worker_id: str, lease: dt.timedelta, limit: int = 1, kinds: list[str] | None = None,
    owner: str | None = None,
) -> list[tuple[int, str]]:
    """Lease up to `limit` ready jobs (or jobs whose lease expired). Returns (id, lease token)
    pairs. `owner` is the claiming process's `worker_process` id (see liveness.py): when that
    process dies the jobs are taken back without waiting out the lease. The caller commits
    straight away so other workers see the lease."""
    now = clock.utcnow()
    query = select(Job.id).where(_claimable(now)).order_by(Job.run_after, Job.id).limit(limit)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    taken: list[tuple[int, str]] = []
    for job_id in session.execute(query).scalars().all():
        token = secrets.token_hex(16)
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now))
            .values(
                status=JobStatus.RUNNING.value, claimed_by=worker_id, owner=owner, lease_token=token,
                lease_until=now + lease, attempts=Job.attempts + 1, started_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            taken.append((job_id, token))
    return taken


def next_due(session: Session, *, kinds: list[str] | None = None) -> dt.datetime | None:
    """When the earliest queued job becomes ready (None: nothing queued)."""
    query = select(func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED.value)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    return session.execute(query).scalar()


def load(session: Session, *, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job with id {job_id}", code="job.not_found")
    return job


def renew(session: Session, *, job_id: int, token: str, lease: dt.timedelta, owner: str | None = None) -> bool:
    """Extend a lease we still hold; False means another worker has taken the job over."""
    values: dict[str, Any] = {"lease_until": clock.utcnow() + lease}
    if owner is not None:
        values["owner"] = owner  # a worker that registered again under a new id keeps its jobs
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def complete(session: Session, *, job_id: int, token: str, result: Any = None) -> bool:
    """Mark the job done if we still hold its lease. Run in the same transaction as the job's
    own writes, so the work and its completion commit together or not at all."""
    res = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING.value)
        .values(status=JobStatus.SUCCEEDED.value, result=result, finished_at=clock.utcnow(),
                lease_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


def fail(
    session: Session, *, job_id: int, token: str, error: str, retryable: bool = True, default_max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> JobStatus | None:
    """Record a failed attempt: back to the queue with backoff, or dead after the last attempt
    (the job's own max_attempts, else the kind's `default_max_attempts`)."""
    job = session.get(Job, job_id)
    if job is None or job.lease_token != token or job.status != JobStatus.RUNNING.value:
        return None
    now = clock.utcnow()
    job.last_error = error[:4000]
    job.lease_until = None
    if not retryable or job.attempts >= (job.max_attempts or default_max_attempts):
        job.status, job.finished_at = JobStatus.DEAD.value, now
    else:
        job.status, job.run_after = JobStatus.QUEUED.value, now + backoff(job.attempts)
    session.flush()
    return JobStatus(job.status)


def dead_expired_leases(session: Session) -> int:
    """Jobs whose lease expired on their last allowed attempt are marked dead, not retried."""
    now = clock.utcnow()
    res = session.execute(
        update(Job)
        .where(Job.status == JobStatus.RUNNING.value, Job.lease_until < now,
               Job.attempts >= func.coalesce(Job.max_attempts, DEFAULT_MAX_ATTEMPTS))
        .values(status=JobStatus.DEAD.value, finished_at=now, last_error="lease expired on the last attempt (worker died?)")
        .execution_options(synchronize_session=False)
    )
    return res.rowcount


def list_jobs(session: Session, *, filter: JobFilter, actor) -> list[JobRead]:
    """Jobs, newest first, for an actor who may read jobs. Raises PermissionDenied."""
    require(actor, "job.read")
    query = select(Job).order_by(Job.id.desc()).limit(filter.limit)
    if filter.kind:
        query = query.where(Job.kind == filter.kind)
    if filter.status:
        query = query.where(Job.status == filter.status.value)
    return [JobRead.model_validate(j) for j in session.execute(query).scalars()]


def get_job(session: Session, *, job_id: int, actor) -> JobRead:
    """The job as stored now (re-read even if this session saw it before). Raises NotFound,
    PermissionDenied."""
    require(actor, "job.read")
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"no job with id {job_id}", code="job.not_found")
    return JobRead.model_validate(job)


def retry_job(session: Session, *, job_id: int, actor) -> JobRead:
    """Put a dead job back in the queue for one more attempt. Audited."""
    require(actor, "job.retry")
    job = load(session, job_id=job_id)
    if job.status != JobStatus.DEAD.value:
        raise Conflict(f"job {job_id} is {job.status}; only dead jobs can be retried", code="job.not_dead")
    job.status, job.run_after = JobStatus.QUEUED.value, clock.utcnow()
    job.max_attempts = job.attempts + 1
    session.flush()
    audit.record(session, actor=actor, action="job.retry", target=f"job:{job_id}")
    return JobRead.model_validate(job)


def stats(session: Session, *, actor) -> QueueStats:
    """Queue depth and lag. Raises PermissionDenied (the public /metrics reads it as the system)."""
    require(actor, "job.read")
    now = clock.utcnow()
    ready = session.execute(
        select(func.count(), func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED.value, Job.run_after <= now)
    ).one()
    counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    oldest = clock.ensure_aware(ready[1]) if ready[1] is not None else None
    return QueueStats(
        depth=ready[0], lag_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        running=counts.get(JobStatus.RUNNING.value, 0), dead=counts.get(JobStatus.DEAD.value, 0),
    )


def live_owners():
    """A subquery of the ids of worker processes not known to be dead or stopped: a claim whose
    owner is not among them belongs to a dead process and may be taken back."""
    return select(WorkerProcess.id).where(WorkerProcess.status == RUNNING).scalar_subquery()
