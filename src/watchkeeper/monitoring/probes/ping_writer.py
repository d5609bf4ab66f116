"""Group commit for heartbeat pings: one transaction for every ping that arrived meanwhile.

A ping is answered only after its row and its monitor's new deadline are committed. Committing
each ping on its own costs a transaction (and an fsync) per request; here each serve process
has one writer thread that takes every ping waiting in its queue, records them all with
`record_pings` (set-based SQL) in ONE transaction, commits, and then wakes each waiting
request with its own outcome. While a batch commits the next one gathers, so the batch size
follows the load: one ping at a time when it is quiet, hundreds per commit under a burst. On
PostgreSQL two such threads write at once: one sends its statements while the other waits for
its commit to reach the disk (+40 % pings/s measured on 2 cores; a third added nothing).

Failures are never silent. If the database fails the batch, or its commit fails, every
request in it gets PingNotRecorded (503, retry) — nothing of the batch is stored, because it
was one transaction. If the batch fails for a reason that may belong to one ping (a statement
or a subscriber error), its pings are recorded again one transaction each, so one bad ping
cannot fail the others. An unknown token fails only its own request (404).

Threads start with the first pings and end after a few idle seconds. It never holds a
transaction open while waiting for pings (on SQLite an open transaction is the write lock).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import queue
import threading
from collections import defaultdict

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper.db.engine import writer_threads
from watchkeeper.errors import WatchkeeperError
from watchkeeper.monitoring.errors import PingNotRecorded
from watchkeeper.monitoring.probes import heartbeats
from watchkeeper.monitoring.probes.heartbeats import PingIn
from watchkeeper.monitoring.probes.schemas import PingResult

log = logging.getLogger(__name__)

MAX_BATCH = 500
IDLE_SECONDS = 2.0

Outcome = PingResult | BaseException


@dataclasses.dataclass
class WriterStats:
    """Counted by the writer threads (under PingWriter._lock). A batch retried one ping at a
    time counts each retry."""

    batches: int = 0
    pings: int = 0
    largest_batch: int = 0
    failed_batches: int = 0


@dataclasses.dataclass
class _Waiting:
    ping: PingIn
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


# Errors that say the database (or the way to it) is in trouble, not one ping: recording the
# batch's pings one by one would only fail the same way, slower.
_DATABASE_TROUBLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError)


class PingWriter:
    """Records pings for one process in batches, one transaction per batch (see module doc)."""

    def __init__(self, session_factory: sessionmaker[Session], *, writers: int | None = None,
                 max_batch: int = MAX_BATCH, idle_seconds: float = IDLE_SECONDS):
        self._session_factory = session_factory
        self.writers = writers or writer_threads(session_factory)
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.stats = WriterStats()
        self._queue: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0

    async def record(self, ping: PingIn) -> PingResult:
        """Queue `ping` and wait until its batch is committed. Raises HeartbeatNotFound for an
        unknown token, PingNotRecorded when the database failed (nothing was stored)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._queue.put(_Waiting(ping, loop, future))
            if self._threads < self.writers:
                self._threads += 1
                threading.Thread(target=self._run, name="wk-ping-writer", daemon=True).start()
        return await future

    def pending(self) -> int:
        """Pings queued and not yet taken into a batch."""
        return self._queue.qsize()

    # ------------------------------------------------------------ writer thread

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._threads -= 1
                        return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                outcomes = self._write([w.ping for w in batch])
            except BaseException as exc:  # noqa: BLE001 - no waiter may be left hanging
                log.exception("ping batch failed unexpectedly", extra={"pings": len(batch)})
                outcomes = [_not_recorded(exc) for _ in batch]
            self._settle(batch, outcomes)

    def _write(self, pings: list[PingIn]) -> list[Outcome]:
        """One transaction for all `pings`; on failure see the module doc."""
        with self._lock:
            self.stats.batches += 1
            self.stats.pings += len(pings)
            self.stats.largest_batch = max(self.stats.largest_batch, len(pings))
        with self._session_factory() as session:
            try:
                outcomes: list[Outcome] = list(heartbeats.record_pings(session, pings))
            except Exception as exc:  # noqa: BLE001 - turned into each waiter's error below
                session.rollback()
                return self._after_failure(pings, exc)
            try:
                session.commit()
            except Exception as exc:  # noqa: BLE001
                # Whether COMMIT reached the database is unknown: no ping of the batch may
                # answer 200. A retried ping is at worst stored twice, never lost.
                session.rollback()
                self._count_failure()
                log.error("ping batch commit failed", extra={"pings": len(pings)}, exc_info=exc)
                return [_not_recorded(exc) for _ in pings]
        return outcomes

    def _count_failure(self) -> None:
        with self._lock:
            self.stats.failed_batches += 1

    def _after_failure(self, pings: list[PingIn], exc: Exception) -> list[Outcome]:
        self._count_failure()
        if len(pings) == 1:
            if isinstance(exc, WatchkeeperError):  # a domain refusal: the client sees it as it is
                return [exc]
            log.error("ping not recorded", exc_info=exc)
            return [_not_recorded(exc)]
        if isinstance(exc, _DATABASE_TROUBLE):
            log.error("ping batch not recorded", extra={"pings": len(pings)}, exc_info=exc)
            return [_not_recorded(exc) for _ in pings]
        log.warning("ping batch failed; recording its pings one transaction each",
                    extra={"pings": len(pings), "error": type(exc).__name__})
        out: list[Outcome] = []
        for p in pings:
            out.extend(self._write([p]))
        return out

    @staticmethod
    def _settle(batch: list[_Waiting], outcomes: list[Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Outcome]]] = defaultdict(list)
        for waiting, outcome in zip(batch, outcomes, strict=True):
            by_loop[waiting.loop].append((waiting.future, outcome))
        for loop, pairs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, pairs)
            except RuntimeError:  # the loop was closed: its requests are gone
                log.warning("ping answers dropped: the event loop is closed", extra={"pings": len(pairs)})


def _resolve(pairs: list[tuple[asyncio.Future, Outcome]]) -> None:
    for future, outcome in pairs:
        if future.done():  # the client went away; its ping is stored all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _not_recorded(exc: BaseException) -> PingNotRecorded:
    what = "the database failed" if isinstance(exc, sa_exc.SQLAlchemyError) else "recording it failed"
    error = PingNotRecorded(
        f"heartbeat ping not recorded: {what} ({type(exc).__name__}) and nothing was stored; retry the ping",
        retryable=True,
    )
    error.__cause__ = exc
    return error
