"""Several real worker processes on one database: no job runs twice, and a job whose worker is
killed with SIGKILL mid-run is completed by another worker once the lease expires."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.waiting import wait_for
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory
from watchkeeper.queue import service as queue
from watchkeeper.worker.leader import Leadership
from watchkeeper.queue.models import Job

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _spawn(url: str, log: Path, name: str, lease: int = 5) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.worker._proc", url, str(log), name, str(lease)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _stop(*procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.fixture
def db(fresh_url):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    yield fresh_url, make_session_factory(engine)
    engine.dispose()


def test_two_workers_never_run_the_same_job_twice(db, tmp_path):
    url, factory = db
    log = tmp_path / "runs.log"
    # Both workers are polling before the jobs arrive, so they compete for every claim.
    a, b = _spawn(url, log, "a"), _spawn(url, log, "b")
    with factory() as s:
        ids = [queue.enqueue(s, kind="test.record", payload={"sleep": 0.05}) for _ in range(120)]
        s.commit()
    try:
        def all_done():
            with factory() as s:
                return s.execute(select(Job.status).where(Job.id.in_(ids))).scalars().all().count("succeeded") == len(ids)

        wait_for(all_done, timeout=90, what="all jobs to succeed")
    finally:
        _stop(a, b)
    lines = log.read_text().split()
    runs = [int(x) for x in lines[0::2]]
    workers = set(lines[1::2])
    assert sorted(runs) == sorted(ids), "a job ran twice or not at all"
    assert workers == {"a", "b"}, "both workers should have taken part"


def test_a_job_killed_mid_run_is_completed_by_the_other_worker(db, tmp_path):
    url, factory = db
    log = tmp_path / "runs.log"
    with factory() as s:
        job_id = queue.enqueue(s, kind="test.record", payload={"sleep": 30})
        s.commit()
    a = _spawn(url, log, "a")
    b = None
    try:
        def running_on_a():
            with factory() as s:
                job = s.get(Job, job_id)
                return job.status == "running" and job.claimed_by == "a"

        wait_for(running_on_a, timeout=20, what="worker a to claim the job")
        os.kill(a.pid, signal.SIGKILL)
        a.wait(timeout=10)
        with factory() as s:
            s.execute(Job.__table__.update().where(Job.id == job_id).values(payload={"sleep": 0}))
            s.commit()
        b = _spawn(url, log, "b")

        def done():
            with factory() as s:
                return s.get(Job, job_id).status == "succeeded"

        wait_for(done, timeout=30, what="worker b to finish the job after a's lease expired")
    finally:
        _stop(*(p for p in (a, b) if p))
    with factory() as s:
        job = s.get(Job, job_id)
        assert job.claimed_by == "b" and job.attempts == 2
    assert log.read_text().split() == [str(job_id), "b"]


def test_a_job_of_a_killed_worker_is_taken_over_in_seconds_not_after_its_lease(db, tmp_path, backend):
    """Issue 10 item 18: with a 60 s lease, the job of a worker killed with SIGKILL runs again
    on another worker within seconds (its liveness is gone), not after the lease."""
    url, factory = db
    log = tmp_path / "runs.log"
    with factory() as s:
        job_id = queue.enqueue(s, kind="test.record", payload={"sleep": 30})
        s.commit()
    a = _spawn(url, log, "a", lease=60)
    b = _spawn(url, log, "b", lease=60)
    try:
        def running():
            with factory() as s:
                job = s.get(Job, job_id)
                return job.status == "running" and job.claimed_by
        holder = wait_for(running, timeout=90, what="a worker to claim the job")
        with factory() as s:
            s.execute(Job.__table__.update().where(Job.id == job_id).values(payload={"sleep": 0}))
            s.commit()
        doomed, other = (a, "b") if holder == "a" else (b, "a")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        killed = time.monotonic()

        def done():
            with factory() as s:
                return s.get(Job, job_id).status == "succeeded"

        wait_for(done, timeout=30, what="the other worker to finish the job")
        took = time.monotonic() - killed
    finally:
        _stop(a, b)
    print(f"\n[{backend}] job of a killed worker (lease 60 s) done by the other after {took:.1f} s")
    # SQLite: dead after 2 s without a heartbeat; PostgreSQL: at the next sweep.
    assert took < 10, f"took {took:.1f} s: the job waited for its lease"
    with factory() as s:
        assert s.get(Job, job_id).claimed_by == other
    assert log.read_text().split() == [str(job_id), other]


def test_leadership_moves_to_a_standby_when_the_leader_dies(db, backend):
    url, _ = db
    engine_a, engine_b = make_engine(url), make_engine(url)
    lease = dt.timedelta(seconds=3)
    a = Leadership(engine_a, name="scheduler", holder="a", lease=lease)
    b = Leadership(engine_b, name="scheduler", holder="b", lease=lease)
    try:
        assert a.try_acquire()
        assert not b.try_acquire()
        assert a.try_acquire(), "the leader keeps leading while alive"
        started = time.monotonic()
        if backend == "postgresql":
            a._conn.invalidate()  # the connection dies with the process: the server drops the lock
            engine_a.dispose()
        # On SQLite the dead leader simply stops renewing; the lease runs out.
        wait_for(b.try_acquire, timeout=30, what="the standby to take over")
        assert time.monotonic() - started < 30
    finally:
        b.release()
        engine_a.dispose()
        engine_b.dispose()


def test_an_idle_worker_wakes_for_a_job_due_before_its_next_poll(db):
    """A group flush is due group_wait after its alert: an idle worker sleeps until the
    earliest queued job is due, not a whole poll interval past it."""
    import threading

    from watchkeeper.config import Settings
    from watchkeeper.domain import JobSpec
    from watchkeeper.worker.runner import Worker

    url, factory = db
    ran_at: list[dt.datetime] = []
    due = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    with factory() as s:
        queue.enqueue(s, kind="t.due", run_after=due)
        s.commit()
    poll = 30
    settings = Settings(database_url=url, worker_poll_seconds=poll, secret_key="k" * 32)
    worker = Worker(engine=factory.kw["bind"], session_factory=factory, settings=settings, periodic=[],
                    jobs={"t.due": JobSpec("t.due", lambda s, p, ctx: ran_at.append(dt.datetime.now(dt.timezone.utc)))})
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        # The worker's first poll finds nothing due; it must wake for the job, not a poll later.
        # No fixed window (a loaded machine delays any wake-up by seconds): never before its due
        # time, and well inside the poll interval it would otherwise have slept.
        wait_for(lambda: ran_at, timeout=2 + poll / 2, what="the job to run before the worker's next poll")
        assert ran_at[0] >= due, f"ran {(due - ran_at[0]).total_seconds():.3f} s before it was due"
        assert ran_at[0] - due < dt.timedelta(seconds=poll / 2), f"ran {ran_at[0] - due} after it was due"
    finally:
        stop.set()
        thread.join(10)


def test_a_burst_of_stop_signals_stops_the_worker(db, tmp_path):
    """Ctrl-C reaches the whole process group while `serve` also terminates its worker: signals
    arriving inside the handler of an earlier one must not deadlock the stop."""
    url, _ = db
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data"),
           "WATCHKEEPER_WORKER_POLL_SECONDS": "0.1"}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "watchkeeper", "worker"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=out)
    try:
        wait_for(lambda: "worker started" in log.read_text(), timeout=60, what="the worker to start")
        for i in range(200):
            proc.send_signal(signal.SIGTERM if i % 2 else signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            pytest.fail("the worker did not stop after a burst of SIGTERM/SIGINT")
