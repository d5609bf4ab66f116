"""The worker loop: claim, run, complete or retry; the leader also runs the scheduler.

SIGTERM sets the stop event: no new claims, in-flight jobs finish, leadership is released.
One bad job cannot crash the loop: its failure is recorded on the job and the loop moves on.
A companion thread keeps this process registered as alive and takes back the claims of
processes that died (liveness.py), once per `worker_heartbeat_seconds`.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper import clock
from watchkeeper.config import Settings
from watchkeeper.db.types import jsonable
from watchkeeper.domain import JobSpec, Loop, Periodic
from watchkeeper.worker import liveness as alive
from watchkeeper.queue import service as queue
from watchkeeper.queue.context import JobContext, RetryLater
from watchkeeper.worker.leader import Leadership
from watchkeeper.worker.models import Schedule

log = logging.getLogger(__name__)

Duty = Callable[[Session, JobContext], None]


class Worker:
    def __init__(
        self,
        *,
        engine: Engine,
        session_factory: sessionmaker[Session],
        settings: Settings,
        jobs: dict[str, JobSpec] | None = None,
        periodic: list[Periodic] | None = None,
        duties: list[Duty] | None = None,
        loops: list[Loop] | None = None,
        reclaimers: list[alive.Reclaimer] | None = None,
    ):
        self.engine = engine
        self.session_factory = session_factory
        self.settings = settings
        # The product's parts come from the composition root (`watchkeeper.app.worker()`); a
        # worker built directly runs only what it is given.
        self.jobs = jobs or {}
        self.periodic = periodic or []
        self.duties = duties or []
        self.loops = loops or []
        self.reclaimers = reclaimers or []
        self.id = settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = dt.timedelta(seconds=settings.worker_lease_seconds)
        self.leadership = Leadership(
            engine, name="scheduler", holder=self.id, lease=dt.timedelta(seconds=settings.leader_lease_seconds)
        )
        self.liveness = alive.Liveness(engine, name=self.id, heartbeat=dt.timedelta(seconds=settings.worker_heartbeat_seconds),
                                       dead_after=dt.timedelta(seconds=settings.worker_dead_after_seconds))
        self._inflight: dict[int, str] = {}
        self._lock = threading.Lock()
        # Set when a job finishes: the jobs it enqueued (a flush queueing deliveries, say) are
        # claimed at once instead of after a full poll interval.
        self._wake = threading.Event()

    # ------------------------------------------------------------ one job

    def execute(self, job_id: int, token: str) -> None:
        with self.session_factory() as session:
            job = queue.load(session, job_id=job_id)
            kind, payload, attempt = job.kind, dict(job.payload or {}), job.attempts
            spec = self.jobs.get(kind)
            ctx = JobContext(settings=self.settings, session_factory=self.session_factory, job_id=job_id, attempt=attempt,
                             owner=self._owner())
            extra = {"job_id": job_id, "kind": kind, "attempt": attempt}
            if spec is None:
                queue.fail(session, job_id=job_id, token=token, error=f"no handler for job kind '{kind}'", retryable=False)
                session.commit()
                log.error("unknown job kind", extra=extra)
                return
            # End the read transaction before the handler runs: on SQLite an open transaction
            # holds the database's write lock, and handlers may do slow I/O before they write.
            session.rollback()
            try:
                result = spec.handler(session, payload, ctx)
                if queue.complete(session, job_id=job_id, token=token, result=jsonable(result)):
                    session.commit()
                    log.debug("job succeeded", extra=extra)
                else:
                    session.rollback()
                    log.warning("lease lost before completion; work rolled back", extra=extra)
                return
            except RetryLater as exc:
                session.rollback()
                error, retryable = str(exc), exc.retryable
            except Exception as exc:  # noqa: BLE001 - the loop must survive any handler bug
                session.rollback()
                error, retryable = f"{type(exc).__name__}: {exc}", True
                log.exception("job failed", extra=extra)
        with self.session_factory() as session:
            status = queue.fail(session, job_id=job_id, token=token, error=error, retryable=retryable,
                                default_max_attempts=spec.max_attempts)
            session.commit()
        log.warning("job attempt failed", extra={**extra, "error": error, "status": str(status)})

    # ------------------------------------------------------------ claiming

    def _owner(self) -> str | None:
        return self.liveness.id if self.liveness.registered else None

    def claim(self, limit: int) -> list[tuple[int, str]]:
        with self.session_factory() as session:
            taken = queue.claim(session, worker_id=self.id, lease=self.lease, limit=limit, kinds=list(self.jobs),
                                owner=self._owner())
            session.commit()
        return taken

    def run_once(self, *, max_jobs: int = 1000) -> int:
        """Run ready jobs synchronously until none is left (tests, `worker --once`)."""
        done = 0
        while done < max_jobs:
            taken = self.claim(1)
            if not taken:
                break
            for job_id, token in taken:
                self.execute(job_id, token)
                done += 1
        return done

    # ------------------------------------------------------------ leader duties

    def schedule_tick(self) -> int:
        """Enqueue periodic jobs that are due. Only the leader calls this."""
        now = clock.utcnow()
        enqueued = 0
        with self.session_factory() as session:
            rows = {s.name: s for s in session.execute(select(Schedule)).scalars()}
            for p in self.periodic:
                row = rows.get(p.name)
                if row is None:
                    row = Schedule(name=p.name, next_run_at=now)
                    session.add(row)
                if row.next_run_at <= now:
                    slot = int(now.timestamp() // p.every.total_seconds())
                    if queue.enqueue(session, kind=p.kind, payload=p.payload, dedupe_key=f"periodic:{p.name}:{slot}"):
                        enqueued += 1
                    row.last_enqueued_at = now
                    row.next_run_at = now + p.every
            queue.dead_expired_leases(session)
            session.commit()
        return enqueued

    def leader_tick(self) -> None:
        if not self.leadership.try_acquire():
            return
        try:
            self.schedule_tick()
        except Exception:  # noqa: BLE001
            log.exception("scheduler tick failed")
        for duty in self.duties:
            try:
                with self.session_factory() as session:
                    duty(session, JobContext(settings=self.settings, session_factory=self.session_factory, job_id=None, attempt=0))
                    session.commit()
            except Exception:  # noqa: BLE001
                log.exception("leader duty failed", extra={"duty": getattr(duty, "__name__", str(duty))})

    def renew_leases(self) -> None:
        with self._lock:
            inflight = dict(self._inflight)
        if not inflight:
            return
        with self.session_factory() as session:
            for job_id, token in inflight.items():
                if not queue.renew(session, job_id=job_id, token=token, lease=self.lease, owner=self._owner()):
                    log.warning("lease lost while running", extra={"job_id": job_id})
            session.commit()

    # ------------------------------------------------------------ liveness

    def liveness_tick(self, *, first: bool = False) -> dict:
        """Say we are alive; take back the claims of dead worker processes. Returns what was
        taken back (empty when nothing was)."""
        self.liveness.beat()
        with self.session_factory() as session:
            out = alive.sweep(session, self.liveness, self.reclaimers, everything=first)
            session.commit()
        return out

    def _liveness_loop(self, stop: threading.Event) -> None:
        first = True
        every = self.liveness.heartbeat.total_seconds()
        while True:
            try:
                if self.liveness_tick(first=first):
                    self._wake.set()  # jobs taken back are claimable now
                first = False
            except Exception:  # noqa: BLE001 - e.g. database restarting; try again next beat
                log.exception("worker liveness check failed", extra={"worker": self.id})
            if stop.wait(every if self.liveness.registered else min(every, 1.0)):
                return

    # ------------------------------------------------------------ the loop

    def _run_tracked(self, job_id: int, token: str) -> None:
        try:
            self.execute(job_id, token)
        except Exception:  # noqa: BLE001
            log.exception("job execution crashed", extra={"job_id": job_id})
        finally:
            with self._lock:
                self._inflight.pop(job_id, None)
            self._wake.set()

    def run(self, stop: threading.Event) -> None:
        concurrency = self.settings.worker_concurrency
        housekeeping_every = min(self.lease.total_seconds(), self.leadership.lease.total_seconds()) / 3
        last_housekeeping = 0.0
        log.info("worker started", extra={"worker": self.id, "concurrency": concurrency})
        liveness_stop = threading.Event()  # set only once in-flight jobs are done: we are alive till then
        liveness_thread = threading.Thread(target=self._liveness_loop, args=(liveness_stop,), name="wk-liveness", daemon=True)
        liveness_thread.start()
        loop_threads = self._start_loops(stop)
        with concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="wk-job") as pool:
            while not stop.is_set():
                try:
                    if time.monotonic() - last_housekeeping >= housekeeping_every:
                        last_housekeeping = time.monotonic()
                        self.leader_tick()
                        self.renew_leases()
                    with self._lock:
                        free = concurrency - len(self._inflight)
                    # Claims name our process row, so nothing is claimed before it exists.
                    taken = self.claim(free) if free > 0 and self.liveness.registered else []
                    for job_id, token in taken:
                        with self._lock:
                            self._inflight[job_id] = token
                        pool.submit(self._run_tracked, job_id, token)
                except Exception:  # noqa: BLE001 - e.g. database restarting; try again next poll
                    log.exception("worker loop error")
                    taken = []
                if not taken:
                    self._wake.wait(self._idle_wait())
                    self._wake.clear()
            log.info("worker stopping; finishing in-flight jobs", extra={"worker": self.id})
        for thread in loop_threads:
            thread.join(timeout=self.lease.total_seconds())
        liveness_stop.set()
        liveness_thread.join(timeout=self.lease.total_seconds())
        self.liveness.stop()
        self.leadership.release()

    def _idle_wait(self) -> float:
        """Seconds to sleep when nothing is ready: the poll interval, or less when a queued job
        (a group flush after its group_wait, a retry after its backoff) is due sooner."""
        poll = self.settings.worker_poll_seconds
        try:
            with self.session_factory() as session:
                due = queue.next_due(session, kinds=list(self.jobs))
                session.rollback()
        except Exception:  # noqa: BLE001 - the next claim reports database trouble
            return poll
        if due is None:
            return poll
        return min(poll, max((due - clock.utcnow()).total_seconds(), 0.005))

    def _start_loops(self, stop: threading.Event) -> list[threading.Thread]:
        threads = []
        for loop in self.loops:
            def target(loop=loop):
                try:
                    loop.run(engine=self.engine, session_factory=self.session_factory, settings=self.settings,
                             stop=stop, worker_id=self.id)
                except Exception:  # noqa: BLE001 - a crashed companion must not take the job loop down
                    log.exception("worker loop crashed", extra={"loop": loop.name})
            thread = threading.Thread(target=target, name=f"wk-{loop.name}", daemon=True)
            thread.start()
            threads.append(thread)
        return threads
