"""The probe runner: an asyncio loop that claims probe slots, runs checks on time with bounded
concurrency, and writes results back in batches.

Claiming. Each (monitor, location) stream has a `due_ms`. A runner claims streams due within
the next couple of seconds with one UPDATE … RETURNING that moves `due_ms` to the next slot
(on PostgreSQL the candidates are picked FOR UPDATE SKIP LOCKED, so processes never wait on
each other). Whoever moved `due_ms` owns that slot: no slot is checked twice, by any number
of processes. A runner checks only streams of its own location label or '*' (anywhere).
Slots claimed but not started when the runner stops are handed back, so none is skipped.

Timing. Claimed checks sleep until their slot, then take a semaphore slot (probe_concurrency)
and run. Database work runs in a thread so a slow commit never delays a check.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, case, select, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from watchkeeper import clock, egress
from watchkeeper.config import Settings
from watchkeeper.db.engine import is_postgres
from watchkeeper.clock import to_ms
from watchkeeper.monitoring.models import Location, Monitor
from watchkeeper.monitoring.probes import results
from watchkeeper.monitoring.probes._rows import ANY_LOCATION
from watchkeeper.monitoring.probes.kinds import HttpClients, ProbeContext, ProbeSpec, parse_spec
from watchkeeper.monitoring.probes.kinds import run as run_probe
from watchkeeper.monitoring.probes.results import ResultIn

log = logging.getLogger(__name__)

LATE_MS = 2000
FLUSH_ATTEMPTS = 5  # a batch that keeps failing (database down) is retried for a few ticks, then dropped and logged


@dataclasses.dataclass
class Claimed:
    location_id: int
    monitor_id: int
    location: str
    slot_ms: int
    next_due_ms: int


@dataclasses.dataclass
class RunnerStats:
    claimed: int = 0
    started: int = 0
    late: int = 0
    finished: int = 0
    recorded: int = 0
    duplicates: int = 0
    handed_back: int = 0
    flush_errors: int = 0
    dropped: int = 0  # results that could not be stored on their own (logged); never retried
    gone: int = 0  # results of monitors deleted while their check ran
    max_lateness_ms: float = 0.0
    # the longest time between two successful claims of this runner: a stream is caught up (its
    # missed slots skipped, see claim()) only when the runners stalled for more than its interval
    max_claim_gap_ms: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class ProbeRunner:
    def __init__(
        self,
        *,
        engine: Engine,
        session_factory: sessionmaker[Session],
        settings: Settings,
        worker_id: str | None = None,
        lookahead_ms: int = 2000,
        tick_seconds: float = 0.5,
        on_start: Callable[[float], None] | None = None,
    ):
        self.engine = engine
        self.session_factory = session_factory
        self.settings = settings
        self.location = settings.worker_location
        self.worker_id = worker_id or settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.concurrency = settings.probe_concurrency
        self.lookahead_ms = lookahead_ms
        self.tick = tick_seconds
        self.on_start = on_start
        self.stats = RunnerStats()
        self._results: list[ResultIn] = []
        self._pending: dict[tuple[int, int], Claimed] = {}
        self._tasks: dict[tuple[int, int], asyncio.Task] = {}
        self._specs: dict[int, tuple[ProbeSpec, tuple]] = {}
        self._series_cache: dict[str, int] = {}

    # ------------------------------------------------------------ database side (threads)

    def claim(self, *, now_ms: int, limit: int) -> tuple[list[Claimed], dict[int, tuple]]:
        """Claim up to `limit` slots due by now + lookahead; also returns the monitors' specs.

        Catch-up policy: a stream found more than an interval behind (no runner claimed it in
        time: a stopped cluster, or runners stalled on a loaded machine) is claimed once, for
        its latest slot at or before now, and goes on from the slot after; the slots it missed
        are skipped, not replayed one after the other."""
        if limit <= 0:
            return [], {}
        with self.session_factory() as session:
            pg = is_postgres(session)
            candidates = (
                select(Location.id)
                .where(Location.due_ms.is_not(None), Location.due_ms <= now_ms + self.lookahead_ms,
                       Location.location.in_([self.location, ANY_LOCATION]))
                .order_by(Location.due_ms)
                .limit(limit)
            )
            if pg:
                candidates = candidates.with_for_update(skip_locked=True)
            step = Location.due_ms + Location.interval_ms
            next_due = case(
                (step > now_ms, step),
                else_=Location.due_ms + Location.interval_ms * ((now_ms - Location.due_ms) // Location.interval_ms + 1),
            )
            rows = session.execute(
                update(Location)
                .where(Location.id.in_(candidates.scalar_subquery()))
                .values(due_ms=next_due)
                .returning(Location.id, Location.monitor_id, Location.location, Location.due_ms, Location.interval_ms)
                .execution_options(synchronize_session=False)
            ).all()
            claimed = [Claimed(lid, mid, loc, due - iv, due) for lid, mid, loc, due, iv in rows]
            specs = {}
            ids = sorted({c.monitor_id for c in claimed})
            for i in range(0, len(ids), 500):
                for mid, name, kind, spec, timeout, updated in session.execute(
                    select(Monitor.id, Monitor.name, Monitor.kind, Monitor.spec, Monitor.timeout_seconds, Monitor.updated_at)
                    .where(Monitor.id.in_(ids[i : i + 500]))
                ).all():
                    specs[mid] = (name, kind, spec, timeout, updated)
            session.commit()
        return claimed, specs

    def hand_back(self, claims: list[Claimed]) -> int:
        """Return unstarted slots: due goes back to the slot unless someone changed it since."""
        back = 0
        with self.session_factory() as session:
            for c in claims:
                res = session.execute(
                    update(Location).where(Location.id == c.location_id, Location.due_ms == c.next_due_ms)
                    .values(due_ms=c.slot_ms).execution_options(synchronize_session=False)
                )
                back += res.rowcount
            session.commit()
        return back

    def flush(self, batch: list[ResultIn]) -> None:
        """Record a batch; retried once whole, then result by result so that one result that
        cannot be stored never blocks the others. A result that fails on its own is dropped and
        logged; a lost connection is raised so that the caller keeps the rest for the next tick."""
        for attempt in (1, 2):
            try:
                self._record(batch)
                return
            except SQLAlchemyError:
                # e.g. a deadlock with a concurrent monitor update, or a cached series id that was pruned
                self._series_cache.clear()
                if attempt == 1:
                    log.warning("probe results flush failed; retrying once", exc_info=True)
        log.warning("probe results flush failed twice; recording one result at a time", extra={"results": len(batch)})
        for r in batch:
            try:
                self._record([r])
            except (IntegrityError, DataError):
                self._series_cache.clear()
                self.stats.dropped += 1
                log.exception("probe result dropped: it cannot be stored",
                              extra={"monitor": r.monitor, "location": r.location, "slot_ms": r.slot_ms})

    def _record(self, batch: list[ResultIn]) -> None:
        with self.session_factory() as session:
            stats = results.record_results(session, batch, worker=self.worker_id, series_cache=self._series_cache,
                                               max_series=self.settings.metrics_max_series)
            session.commit()
        self.stats.recorded += stats.recorded
        self.stats.duplicates += stats.duplicates
        self.stats.gone += stats.gone

    # ------------------------------------------------------------ the loop

    def _spec(self, mid: int, row: tuple) -> tuple[str, str, ProbeSpec, float]:
        name, kind, raw, timeout, updated = row
        cached = self._specs.get(mid)
        if cached is None or cached[1] != (updated, kind):
            cached = (parse_spec(kind, raw), (updated, kind))
            self._specs[mid] = cached
        return name, kind, cached[0], timeout

    async def _check(self, claim: Claimed, info: tuple, sem: asyncio.Semaphore, clients: HttpClients) -> None:
        key = (claim.location_id, claim.slot_ms)
        delay = (claim.slot_ms - to_ms(clock.utcnow())) / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        async with sem:
            self._pending.pop(key, None)
            started = clock.utcnow()
            lateness = to_ms(started) - claim.slot_ms
            self.stats.started += 1
            self.stats.max_lateness_ms = max(self.stats.max_lateness_ms, lateness)
            if lateness > LATE_MS:
                self.stats.late += 1
            if self.on_start:
                self.on_start(lateness)
            try:
                name, kind, spec, timeout = self._spec(claim.monitor_id, info)
            except Exception as exc:  # noqa: BLE001 - a stored spec that no longer validates
                log.error("monitor spec invalid; check skipped", extra={"monitor_id": claim.monitor_id, "error": str(exc)})
                return
            ctx = ProbeContext(secret=self.settings.secret_from_env,
                               monitor=name, location=claim.location if claim.location != ANY_LOCATION else self.location,
                               timeout=timeout, http=clients)
            result = await run_probe(spec, ctx)
        self.stats.finished += 1
        self._results.append(ResultIn(
            location_id=claim.location_id, monitor_id=claim.monitor_id, monitor=name,
            location=ctx.location if claim.location == ANY_LOCATION else claim.location,
            slot_ms=claim.slot_ms, checked_at=started, result=result,
        ))

    async def _flush_now(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await asyncio.to_thread(self.flush, batch)
        except Exception:  # noqa: BLE001 - keep the results and try again next tick, a bounded number of times
            self.stats.flush_errors += 1
            log.exception("probe results flush failed", extra={"results": len(batch)})
            keep = []
            for r in batch:
                r.attempts += 1
                if r.attempts < FLUSH_ATTEMPTS:
                    keep.append(r)
                else:
                    self.stats.dropped += 1
            if len(keep) < len(batch):
                log.error("probe results dropped after repeated flush failures",
                          extra={"results": len(batch) - len(keep), "attempts": FLUSH_ATTEMPTS})
            self._results = keep + self._results

    async def run_async(self, stop: threading.Event) -> None:
        sem = asyncio.Semaphore(self.concurrency)
        clients = HttpClients(egress.Egress.from_settings(self.settings))
        tasks: set[asyncio.Task] = set()
        max_pending = self.concurrency * 4
        last_claim_ms: int | None = None
        log.info("probe runner started", extra={"worker": self.worker_id, "location": self.location,
                                                 "concurrency": self.concurrency})
        try:
            while not stop.is_set():
                tick_start = time.monotonic()
                now_ms = to_ms(clock.utcnow())
                try:
                    claimed, specs = await asyncio.to_thread(
                        self.claim, now_ms=now_ms, limit=max_pending - len(self._pending)
                    )
                    if last_claim_ms is not None:
                        self.stats.max_claim_gap_ms = max(self.stats.max_claim_gap_ms, now_ms - last_claim_ms)
                    last_claim_ms = now_ms
                except Exception:  # noqa: BLE001 - database restarting: try again next tick
                    log.exception("probe claim failed")
                    claimed, specs = [], {}
                for c in claimed:
                    info = specs.get(c.monitor_id)
                    if info is None:
                        continue
                    self.stats.claimed += 1
                    self._pending[(c.location_id, c.slot_ms)] = c
                    key = (c.location_id, c.slot_ms)
                    task = asyncio.create_task(self._check(c, info, sem, clients))
                    tasks.add(task)
                    self._tasks[key] = task
                    task.add_done_callback(lambda t, k=key: (tasks.discard(t), self._tasks.pop(k, None)))
                await self._flush_now()
                await asyncio.sleep(max(0.0, self.tick - (time.monotonic() - tick_start)))
            # Stopping: checks not yet started are cancelled and their slots handed back at once,
            # so that another runner still claims them on time (handed back only after the
            # running checks' timeouts, they came back more than an interval late and were
            # skipped by the catch-up policy); running checks finish and are flushed. No await
            # between choosing and cancelling, so no check can start in between.
            unstarted = list(self._pending.values())
            for c in unstarted:
                task = self._tasks.get((c.location_id, c.slot_ms))
                if task is not None:
                    task.cancel()
            if unstarted:
                self.stats.handed_back += await asyncio.to_thread(self.hand_back, unstarted)
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)
            await self._flush_now()
        finally:
            await clients.aclose()
            log.info("probe runner stopped", extra={"worker": self.worker_id, **self.stats.as_dict()})

    def run(self, stop: threading.Event) -> None:
        asyncio.run(self.run_async(stop))


def run_probe_loop(*, engine: Engine, session_factory: sessionmaker[Session], settings: Settings,
                   stop: threading.Event, worker_id: str | None = None) -> None:
    """Entry point used by the worker (both `serve` and `worker` run it)."""
    ProbeRunner(engine=engine, session_factory=session_factory, settings=settings, worker_id=worker_id).run(stop)

