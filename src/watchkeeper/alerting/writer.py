"""Group commit for ingest: concurrent requests are written by one thread, many per transaction.

Each API request parses and checks its batch in its own thread, then hands it to the writer of
its process and waits. The writer takes everything queued (up to MAX_ALERTS alerts), stores the
batches one after the other in ONE transaction, commits once, and only then releases the
waiting requests — so a 2xx still means "committed", while a hundred small requests cost one
commit instead of a hundred, and requests of one process never wait on each other's row locks.
If a shared transaction fails, each batch is retried alone so one bad batch fails only its own
request. Deadlocks with other processes (several `serve`s on PostgreSQL) are retried.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.alerting import ingest as _ingest
from watchkeeper.alerting.schemas import IngestResult

log = logging.getLogger(__name__)

MAX_ALERTS = 20_000
RETRIES = 3


@dataclasses.dataclass
class _Job:
    items: dict[str, _ingest.Item]
    source: str
    future: concurrent.futures.Future


def _retryable(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and code in ("40P01", "40001")  # deadlock, serialization failure


class Writer:
    def __init__(self, session_factory: Callable[[], Session], *, threads: int = 1):
        self.session_factory = session_factory
        self._queue: queue.Queue[_Job] = queue.Queue()
        for _ in range(threads):
            threading.Thread(target=self._run, name="wk-ingest-writer", daemon=True).start()

    def submit_nowait(self, items: dict[str, _ingest.Item], *, source: str) -> concurrent.futures.Future:
        """Queue a batch; the future resolves to its IngestResult once it is committed."""
        job = _Job(items, source, concurrent.futures.Future())
        self._queue.put(job)
        return job.future

    def submit(self, items: dict[str, _ingest.Item], *, source: str, timeout: float = 60) -> IngestResult:
        return self.submit_nowait(items, source=source).result(timeout=timeout)

    def _take(self) -> list[_Job]:
        jobs = [self._queue.get()]
        count = len(jobs[0].items)
        while count < MAX_ALERTS:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            jobs.append(job)
            count += len(job.items)
        return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            try:
                results = self._write(jobs)
            except Exception:  # noqa: BLE001 - fall back to one transaction per request
                log.warning("shared ingest transaction failed; retrying batches one by one", exc_info=True)
                for job in jobs:
                    try:
                        _settle(job.future, result=self._write([job])[0])
                    except Exception as exc:  # noqa: BLE001 - the request gets the error
                        _settle(job.future, error=exc)
                continue
            for job, result in zip(jobs, results):
                _settle(job.future, result=result)

    def _write(self, jobs: list[_Job]) -> list[IngestResult]:
        # Batches whose fingerprints do not overlap are merged into one store() call (one round
        # trip per table); an overlap starts a new call so arrival order still decides.
        parts: list[list[_Job]] = []
        seen: set[str] = set()
        for job in jobs:
            if not parts or seen & job.items.keys():
                parts.append([])
                seen = set()
            parts[-1].append(job)
            seen |= job.items.keys()
        for attempt in range(RETRIES):
            session = self.session_factory()
            try:
                now = clock.utcnow()
                results: dict[int, IngestResult] = {}
                for part in parts:
                    # Outcomes per part: a fingerprint created in one part is "updated" by a later
                    # part of the same transaction, and each request must get its own answer.
                    outcomes: dict[str, str] = {}
                    merged = {fp: it for job in part for fp, it in job.items.items()}
                    sources = {fp: job.source for job in part for fp in job.items}
                    _ingest.store(session, items=merged, source=sources, now=now, outcomes=outcomes)
                    results.update((id(job), _result(job, outcomes)) for job in part)
                session.commit()
                return [results[id(job)] for job in jobs]
            except Exception as exc:
                session.rollback()
                if attempt + 1 < RETRIES and _retryable(exc):
                    time.sleep(0.01 * (attempt + 1))
                    continue
                raise
            finally:
                session.close()
        raise AssertionError("unreachable")


def _settle(future: concurrent.futures.Future, *, result=None, error: BaseException | None = None) -> None:
    """Answer a waiting request; one that gave up (timed out, client gone) cancelled its future."""
    if future.cancelled():
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass


def _result(job: _Job, outcomes: dict[str, str]) -> IngestResult:
    counts = dict.fromkeys(("created", "fired_again", "resolved", "updated", "unchanged", "suppressed"), 0)
    for fp in job.items:
        outcome = outcomes.get(fp, "unchanged")
        if outcome.startswith("suppressed:"):
            counts["suppressed"] += 1
            outcome = outcome.split(":", 1)[1]
        counts[outcome] += 1
    return IngestResult(received=len(job.items), **counts)


_writers: dict[int, Writer] = {}
_lock = threading.Lock()


def writer_for(session_factory: Callable[[], Session]) -> Writer:
    """The writer of this process for this database (one per session factory)."""
    key = id(session_factory)
    with _lock:
        if key not in _writers:
            # One thread: unlike pings, concurrent alert batches share rows (repeats of the same
            # alerts, the same groups), and two writers spent their time waiting for each
            # other's row locks and deadlock retries (bench/ingest.py: 473 vs ~4,000 alerts/s).
            _writers[key] = Writer(session_factory, threads=1)
        return _writers[key]
