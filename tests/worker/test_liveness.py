"""Worker liveness (worker/liveness.py): a dead process is recognised within a heartbeat or two
(PostgreSQL: its advisory lock is gone; SQLite: its heartbeat is stale) and what it had claimed
is taken back at once; live and cleanly stopped processes are left alone."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import select

from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory
from watchkeeper.notify import delivery
from watchkeeper.notify import service as outbox
from watchkeeper.notify.models import Outbox
from watchkeeper.notify.schemas import Message
from watchkeeper.worker import liveness as alive
from watchkeeper import domains
from watchkeeper.queue import service as queue
from watchkeeper.queue.models import Job, WorkerProcess

LEASE = dt.timedelta(minutes=10)  # far longer than the test: only liveness can free the claims


@pytest.fixture
def db(fresh_url):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    yield engine, make_session_factory(engine)
    engine.dispose()


def _liveness(url: str, name: str) -> alive.Liveness:
    return alive.Liveness(make_engine(url), name=name, heartbeat=dt.timedelta(seconds=0.2), dead_after=dt.timedelta(seconds=3))


def _claim_work(factory, owner: str) -> tuple[int, int]:
    """A running job and a 'sending' outbox row, both claimed by `owner`."""
    with factory() as s:
        job_id = queue.enqueue(s, kind="worker.echo")
        row_id = outbox.enqueue(s, key=f"k-{owner}", ref=None, receiver="ops",
                                channel={"type": "webhook", "url": "http://127.0.0.1:9/"},
                                message=Message(subject="s", text="t"))
        s.commit()
        s.execute(Job.__table__.update().where(Job.kind == "notify.deliver").values(status="succeeded"))
        assert queue.claim(s, worker_id=owner, lease=LEASE, kinds=["worker.echo"], owner=owner)
        assert delivery.claim(s, outbox_id=row_id, worker=owner, owner=owner) is not None
        s.commit()
    return job_id, row_id


def test_the_claims_of_a_dead_worker_are_taken_back_and_a_live_ones_are_not(db, fresh_url, backend):
    engine, factory = db
    a, b, c = _liveness(fresh_url, "a"), _liveness(fresh_url, "b"), _liveness(fresh_url, "c")
    try:
        for w in (a, b, c):
            w.register()
        a_job, a_row = _claim_work(factory, a.id)
        b_job, b_row = _claim_work(factory, b.id)
        c.stop()  # a clean exit is not a death
        a.beat()
        b.beat()
        with factory() as s:
            assert alive.sweep(s, b, domains.reclaimers()) == {}, "nobody is dead yet"
            s.commit()

        died = time.monotonic()
        if backend == "postgresql":
            a._conn.invalidate()  # what the server sees when the process dies: the connection is gone
        # On SQLite the dead process simply stops beating.
        result = {}
        while not result and time.monotonic() - died < 10:
            b.beat()
            with factory() as s:
                result = alive.sweep(s, b, domains.reclaimers())
                s.commit()
            time.sleep(0.1)
        took = time.monotonic() - died
        assert result["dead"] == [a.id]
        # PostgreSQL: at the next sweep (the lock is gone at once); SQLite: dead_after (3 s) + a beat.
        assert took < (2 if backend == "postgresql" else 6), f"recognised dead after {took:.1f} s"
        with factory() as s:
            statuses = dict(s.execute(select(WorkerProcess.name, WorkerProcess.status)).all())
            assert statuses == {"a": "dead", "b": "running", "c": "stopped"}
            assert queue.claim(s, worker_id="b", lease=LEASE, kinds=["worker.echo"], owner=b.id) != [], \
                "the dead worker's job is claimable at once"
            assert s.get(Job, b_job).lease_token is not None and s.get(Job, b_job).claimed_by == b.id
            assert s.get(Outbox, a_row).status != "sending", "the dead worker's send was recovered"
            assert s.get(Outbox, b_row).status == "sending", "a live worker's send is left alone"
            s.commit()
    finally:
        for w in (a, b, c):
            w.stop()
            w.engine.dispose()


def test_a_worker_presumed_dead_registers_again_under_a_new_id(db, fresh_url):
    engine, factory = db
    a = _liveness(fresh_url, "a")
    try:
        a.register()
        first = a.id
        with factory() as s:
            s.execute(WorkerProcess.__table__.update().where(WorkerProcess.id == first).values(status="dead"))
            s.commit()
        a.beat()
        assert a.id != first and a.registered
        with factory() as s:
            assert s.get(WorkerProcess, a.id).status == "running"
    finally:
        a.stop()
        a.engine.dispose()
