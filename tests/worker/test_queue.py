"""The job queue on one connection: claims, leases, retries with backoff, dead letters."""

from __future__ import annotations

import datetime as dt

from watchkeeper import clock
from watchkeeper.domain import JobSpec, Periodic
from watchkeeper.queue import service as queue
from watchkeeper.worker.runner import Worker
from watchkeeper.queue.schemas import JobStatus
from tests.factories.auth import SYSTEM

LEASE = dt.timedelta(seconds=30)


def _worker(container, **jobs):
    specs = {k: JobSpec(k, fn, max_attempts=3) for k, fn in jobs.items()}
    return Worker(engine=container.engine, session_factory=container.session_factory, settings=container.settings,
                  jobs=specs, periodic=[])


def test_a_job_is_claimed_once_and_completed(frozen_clock, session, container):
    ran = []
    job_id = queue.enqueue(session, kind="t.ok", payload={"x": 1})
    session.commit()
    w = _worker(container, **{"t.ok": lambda s, p, ctx: ran.append(p["x"]) or {"done": True}})
    assert w.run_once() == 1
    assert w.run_once() == 0
    job = queue.get_job(session, actor=SYSTEM, job_id=job_id)
    assert ran == [1] and job.status == JobStatus.SUCCEEDED and job.result == {"done": True} and job.attempts == 1


def test_dedupe_key_enqueues_once(session):
    assert queue.enqueue(session, kind="t", dedupe_key="k1") is not None
    assert queue.enqueue(session, kind="t", dedupe_key="k1") is None


def test_failures_back_off_then_go_dead_with_the_reason(frozen_clock, session, container):
    def boom(s, p, ctx):
        raise ValueError("smtp said no")

    job_id = queue.enqueue(session, kind="t.boom")
    session.commit()
    w = _worker(container, **{"t.boom": boom})
    w.run_once()
    job = queue.get_job(session, actor=SYSTEM, job_id=job_id)
    assert job.status == JobStatus.QUEUED and "smtp said no" in job.last_error
    assert job.run_after == frozen_clock + queue.backoff(1)
    assert w.run_once() == 0  # not due yet
    clock.advance(queue.backoff(1))
    w.run_once()
    clock.advance(queue.backoff(2))
    w.run_once()
    job = queue.get_job(session, actor=SYSTEM, job_id=job_id)
    assert job.status == JobStatus.DEAD and job.attempts == 3


def test_handler_writes_roll_back_when_it_fails(frozen_clock, session, container):
    from watchkeeper.audit import service as audit

    def half_done(s, p, ctx):
        audit.record(s, actor=ctx.actor, action="t.partial", target="t:1")
        raise RuntimeError("crash after writing")

    queue.enqueue(session, kind="t.half")
    session.commit()
    before = audit.chain_length(session)
    _worker(container, **{"t.half": half_done}).run_once()
    assert audit.chain_length(session) == before


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_complete(frozen_clock, session):
    job_id = queue.enqueue(session, kind="t")
    [(claimed, token_a)] = queue.claim(session, worker_id="a", lease=LEASE)
    assert claimed == job_id
    assert queue.claim(session, worker_id="b", lease=LEASE) == []
    clock.advance(LEASE + dt.timedelta(seconds=1))
    [(_, token_b)] = queue.claim(session, worker_id="b", lease=LEASE)
    assert not queue.complete(session, job_id=job_id, token=token_a)
    assert queue.complete(session, job_id=job_id, token=token_b)
    job = queue.get_job(session, actor=SYSTEM, job_id=job_id)
    assert job.claimed_by == "b" and job.attempts == 2


def test_unknown_job_kind_goes_dead_without_crashing(frozen_clock, session, container):
    job_id = queue.enqueue(session, kind="nobody.handles.this")
    session.commit()
    w = _worker(container)
    w.jobs["nobody.handles.this"] = None  # claimable kind with no handler
    w.jobs.pop("nobody.handles.this")
    taken = queue.claim(session, worker_id="x", lease=LEASE)
    session.commit()
    w.execute(*taken[0])
    job = queue.get_job(session, actor=SYSTEM, job_id=job_id)
    assert job.status == JobStatus.DEAD and "no handler" in job.last_error


def test_periodic_jobs_are_enqueued_once_per_slot(frozen_clock, session, container):
    w = Worker(engine=container.engine, session_factory=container.session_factory, settings=container.settings,
               jobs={}, periodic=[Periodic("p", "t.periodic", dt.timedelta(minutes=5))])
    assert w.schedule_tick() == 1
    assert w.schedule_tick() == 0
    clock.advance(dt.timedelta(minutes=5))
    assert w.schedule_tick() == 1


def test_queue_stats_show_depth_and_lag(frozen_clock, session):
    queue.enqueue(session, kind="t")
    clock.advance(dt.timedelta(seconds=42))
    queue.enqueue(session, kind="t")
    stats = queue.stats(session, actor=SYSTEM)
    assert stats.depth == 2 and stats.lag_seconds == 42


def test_dead_jobs_can_be_retried_and_that_is_audited(frozen_clock, session, system_actor):
    from sqlalchemy import select

    from watchkeeper.audit.models import AuditEvent

    job_id = queue.enqueue(session, kind="t", max_attempts=1)
    [(jid, tok)] = queue.claim(session, worker_id="a", lease=LEASE)
    queue.fail(session, job_id=jid, token=tok, error="x")
    assert queue.get_job(session, actor=SYSTEM, job_id=job_id).status == JobStatus.DEAD
    assert queue.retry_job(session, job_id=job_id, actor=system_actor).status == JobStatus.QUEUED
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "job.retry")).scalar_one().target == f"job:{job_id}"
