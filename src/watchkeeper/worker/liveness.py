"""Worker liveness: which worker processes are alive, and taking back the work of dead ones.

Every `Worker.run` registers a `worker_process` row with a fresh random id; its claims (jobs,
and the outbox rows its delivery jobs send) carry that id as `owner`. Alive means:

    PostgreSQL  the process holds a session-level advisory lock keyed by its row, on a
                connection of its own. When the process dies (kill -9, OOM, a lost host) the
                server drops the connection and the lock with it. A sweeper tells a dead
                holder by `pg_try_advisory_lock` succeeding on its key.
    SQLite      the row's `heartbeat_at` is younger than `worker_dead_after_seconds`.

Every worker sweeps once per heartbeat (a read of a handful of rows). A dead process's row is
marked dead and, in the same transaction, the leases of everything it had claimed are expired:
its jobs become claimable at once (the usual claim path takes them) and the reclaimers
contributed by domains (the outbox's recovery) run. The lease stays the backstop for claims
without an owner (`worker --once`, rows claimed before this existed) and for a process that
hangs while alive.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.db.engine import close_quietly
from watchkeeper.queue import service as queue
from watchkeeper.queue.service import DEAD, RUNNING, STOPPED, live_owners
from watchkeeper.worker.leader import lock_key
from watchkeeper.queue.models import Job, WorkerProcess
from watchkeeper.queue.schemas import JobStatus

log = logging.getLogger(__name__)

# How far back an expired lease is set, so `lease_until < now` holds for every reader at once.
EXPIRED = dt.timedelta(seconds=1)

Reclaimer = Callable[[Session], Any]


def expire_orphaned_jobs(session: Session) -> int:
    """Expire the lease of every running job whose owner is no longer running, then mark those
    that were on their last attempt dead (as for any expired lease). Returns jobs freed."""
    now = clock.utcnow()
    res = session.execute(
        update(Job)
        .where(Job.status == JobStatus.RUNNING.value, Job.owner.is_not(None), Job.owner.not_in(live_owners()),
               Job.lease_until >= now)
        .values(lease_until=now - EXPIRED)
        .execution_options(synchronize_session=False)
    )
    queue.dead_expired_leases(session)
    return res.rowcount


class Liveness:
    """This process's registration: register, beat, find the dead, stop."""

    def __init__(self, engine: Engine, *, name: str, heartbeat: dt.timedelta, dead_after: dt.timedelta):
        self.engine, self.name, self.heartbeat, self.dead_after = engine, name, heartbeat, dead_after
        self.id = secrets.token_hex(16)
        self.registered = False
        self._conn: Connection | None = None  # PostgreSQL: holds our advisory lock

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def key(self) -> int:
        return lock_key(f"worker:{self.id}")

    # ------------------------------------------------------------ our own row

    def register(self) -> None:
        """Take the lock (PostgreSQL) and then write the row: a row that others can see always
        has its lock held while the process lives."""
        if self.postgres:
            self._lock()
        now = clock.utcnow()
        with self.engine.begin() as conn:
            conn.execute(WorkerProcess.__table__.insert().values(
                id=self.id, name=self.name, pid=os.getpid(), status=RUNNING, lock_key=self.key if self.postgres else None,
                started_at=now, heartbeat_at=now))
        self.registered = True
        log.info("worker registered", extra={"worker": self.name, "worker_process": self.id})

    def _lock(self) -> None:
        self._drop()
        self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})

    def beat(self) -> None:
        """Record that we are alive. If others found us dead meanwhile (a long stall, a lost
        database connection) our claims were handed out again: carry on under a new id."""
        if not self.registered:
            self.register()
            return
        if self.postgres:
            try:
                self._conn.execute(text("SELECT 1"))  # type: ignore[union-attr]
            except SQLAlchemyError:
                log.warning("lost the liveness connection; taking the lock again", extra={"worker_process": self.id})
                self._lock()
        with self.engine.begin() as conn:
            res = conn.execute(update(WorkerProcess).where(WorkerProcess.id == self.id, WorkerProcess.status == RUNNING)
                               .values(heartbeat_at=clock.utcnow()))
        if res.rowcount != 1:
            log.error("this worker was presumed dead and its claims were taken back; registering again",
                      extra={"worker_process": self.id})
            self.id = secrets.token_hex(16)
            self.registered = False
            self.register()

    def stop(self) -> None:
        """A clean exit: the row says stopped, the lock is released."""
        if self.registered:
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(WorkerProcess).where(WorkerProcess.id == self.id)
                                 .values(status=STOPPED, ended_at=clock.utcnow()))
            except SQLAlchemyError:
                log.warning("could not mark the worker stopped", extra={"worker_process": self.id}, exc_info=True)
        self.registered = False
        self._drop()

    def _drop(self) -> None:
        self._conn = close_quietly(self._conn)

    # ------------------------------------------------------------ the others

    def find_dead(self, session: Session) -> list[str]:
        """Ids of other registered processes that are gone."""
        query = select(WorkerProcess.id, WorkerProcess.lock_key, WorkerProcess.heartbeat_at).where(
            WorkerProcess.status == RUNNING, WorkerProcess.id != self.id)
        rows = session.execute(query).all()
        if not rows:
            return []
        if not self.postgres:
            cutoff = clock.utcnow() - self.dead_after
            return [r.id for r in rows if clock.ensure_aware(r.heartbeat_at) < cutoff]
        if self._conn is None:
            return []
        dead = []
        for r in rows:
            if r.lock_key is None:
                continue
            if self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": r.lock_key}).scalar():
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": r.lock_key})
                dead.append(r.id)
        return dead


def sweep(session: Session, liveness: Liveness, reclaimers: Iterable[Reclaimer], *, everything: bool = False) -> dict[str, Any]:
    """Mark dead processes dead and take back what they had claimed, in the caller's
    transaction. `everything`: take back any claim whose owner is not running even if no
    process died just now (a worker's first sweep). Does not commit."""
    dead = liveness.find_dead(session)
    if dead:
        session.execute(update(WorkerProcess).where(WorkerProcess.id.in_(dead), WorkerProcess.status == RUNNING)
                        .values(status=DEAD, ended_at=clock.utcnow()).execution_options(synchronize_session=False))
    if not dead and not everything:
        return {}
    out: dict[str, Any] = {"dead": dead, "jobs": expire_orphaned_jobs(session)}
    for reclaim in reclaimers:
        out[getattr(reclaim, "__qualname__", str(reclaim))] = reclaim(session)
    if dead:
        log.warning("took back the work of dead worker processes", extra=out)
    return out
