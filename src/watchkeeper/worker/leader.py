"""Leader election for singleton duties.

PostgreSQL: a session-level advisory lock held on a dedicated connection. If the process dies,
the server drops the connection and the lock with it, so a standby takes over on its next try.
SQLite: a lease row renewed by the holder; a standby takes over once the lease has expired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper import clock
from watchkeeper.db.engine import close_quietly
from watchkeeper.worker.models import LeaderLease

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock key for a name."""
    return int.from_bytes(hashlib.sha256(f"watchkeeper:{name}".encode()).digest()[:8], "big", signed=True)


class Leadership:
    def __init__(self, engine: Engine, *, name: str, holder: str, lease: dt.timedelta):
        self.engine, self.name, self.holder, self.lease = engine, name, holder, lease
        self._conn: Connection | None = None
        self._is_leader = False

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    def try_acquire(self) -> bool:
        """Take or keep leadership; call at least every lease/3. Returns whether we lead."""
        try:
            if self.engine.dialect.name == "postgresql":
                self._is_leader = self._pg()
            else:
                self._is_leader = self._lease_row()
        except SQLAlchemyError:
            log.warning("leader check failed", extra={"duty": self.name}, exc_info=True)
            self._drop()
            self._is_leader = False
        return self._is_leader

    def _pg(self) -> bool:
        if self._conn is not None and self._is_leader:
            self._conn.execute(text("SELECT 1"))  # still connected means still holding the lock
            return True
        if self._conn is None:
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(self.name)}).scalar()
        if got:
            log.info("became leader", extra={"duty": self.name, "holder": self.holder})
        return bool(got)

    def _lease_row(self) -> bool:
        now = clock.utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(select(LeaderLease).where(LeaderLease.name == self.name)).first()
            if row is None:
                conn.execute(LeaderLease.__table__.insert().values(name=self.name, holder=self.holder, expires_at=now + self.lease))
                got = True
            else:
                res = conn.execute(
                    update(LeaderLease)
                    .where(LeaderLease.name == self.name)
                    .where((LeaderLease.holder == self.holder) | (LeaderLease.expires_at < now))
                    .values(holder=self.holder, expires_at=now + self.lease)
                )
                got = res.rowcount == 1
        if got and not self._is_leader:
            log.info("became leader", extra={"duty": self.name, "holder": self.holder})
        return got

    def release(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._drop()
        elif self._is_leader:
            with self.engine.begin() as conn:
                conn.execute(
                    update(LeaderLease)
                    .where(LeaderLease.name == self.name, LeaderLease.holder == self.holder)
                    .values(expires_at=clock.utcnow() - dt.timedelta(seconds=1))
                )
        self._is_leader = False

    def _drop(self) -> None:
        self._conn = close_quietly(self._conn)
