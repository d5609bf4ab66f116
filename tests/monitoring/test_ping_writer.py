"""Group commit of heartbeat pings: batches really form, a failure is never silent, a late ping
in a batch still resolves its alert, and two serve processes neither lose nor double pings."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from tests.factories.monitoring import SYSTEM, make_monitor
from tests.web.conftest import free_port
from watchkeeper import clock
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory
from watchkeeper.errors import Unavailable
from watchkeeper.monitoring.errors import HeartbeatNotFound, PingNotRecorded
from watchkeeper.monitoring.models import Monitor, Ping
from watchkeeper.signals.models import Signal
from watchkeeper.monitoring.probes import heartbeats
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.probes.ping_writer import PingWriter
from watchkeeper.monitoring.probes.schemas import PingResult, PingSignal

PingIn = heartbeats.PingIn


@pytest.fixture
def db(fresh_url):
    """A migrated database of its own: the writer commits for real, from its own thread."""
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    yield engine, make_session_factory(engine)
    engine.dispose()


def _heartbeats(factory, n: int, **spec) -> list[str]:
    with factory() as s:
        tokens = [make_monitor(s, name=f"hb-{i}", heartbeat={"period": "1h", **spec}).ping_path.split("/")[-1]
                  for i in range(n)]
        s.commit()
    return tokens


class _Blocker:
    """Holds what the writer's transaction needs — the monitors' row locks on PostgreSQL, the
    write lock on SQLite (every transaction begins IMMEDIATE) — until `release()`."""

    def __init__(self, engine):
        self.conn = engine.connect()
        self.tx = self.conn.begin()
        if engine.dialect.name == "postgresql":
            self.conn.execute(text("SELECT id FROM monitoring_monitor FOR UPDATE"))

    def release(self) -> None:
        self.tx.rollback()
        self.conn.close()


async def _until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.01)


def _one_then_the_rest(engine, writer: PingWriter, pings: list[PingIn]) -> list:
    """Send pings[0] alone and hold its batch in the database; queue the rest behind it; let
    go. With one writer thread the rest can only be written together: the group commit under
    test."""

    async def run():
        blocker = _Blocker(engine)
        batches = writer.stats.batches
        try:
            first = asyncio.ensure_future(writer.record(pings[0]))
            await _until(lambda: writer.stats.batches == batches + 1 and writer.pending() == 0, "the first batch is taken")
            rest = [asyncio.ensure_future(writer.record(p)) for p in pings[1:]]
            await _until(lambda: writer.pending() == len(rest), "the rest are queued")
        finally:
            blocker.release()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    return asyncio.run(run())


def refuse_pings(conn, *, monitor_ids: list[int] | None = None, at_commit: bool = False) -> None:
    """A trigger that makes the database refuse ping rows (of `monitor_ids`, or all), like a
    full disk would: at the INSERT, or (PostgreSQL only) at COMMIT."""
    if conn.dialect.name == "sqlite":
        assert not at_commit
        when = f"WHEN NEW.monitor_id IN ({', '.join(map(str, monitor_ids))})" if monitor_ids else ""
        conn.execute(text(f"CREATE TRIGGER wk_refuse BEFORE INSERT ON monitoring_ping {when} "
                          "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
        return
    conn.execute(text("CREATE FUNCTION wk_refuse() RETURNS trigger AS $$ BEGIN "
                      "RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"))
    when = f"WHEN (NEW.monitor_id IN ({', '.join(map(str, monitor_ids))}))" if monitor_ids else ""
    if at_commit:
        conn.execute(text("CREATE CONSTRAINT TRIGGER wk_refuse AFTER INSERT ON monitoring_ping "
                          f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when} EXECUTE FUNCTION wk_refuse()"))
    else:
        conn.execute(text(f"CREATE TRIGGER wk_refuse BEFORE INSERT ON monitoring_ping FOR EACH ROW {when} "
                          "EXECUTE FUNCTION wk_refuse()"))


def _stored(factory) -> tuple[int, dict[str, dt.datetime | None]]:
    with factory() as s:
        count = s.execute(select(func.count()).select_from(Ping)).scalar()
        last = dict(s.execute(select(Monitor.name, Monitor.last_ping_at)).all())
    return count, last


def test_pings_arriving_while_a_batch_commits_are_written_in_one_transaction(db):
    engine, factory = db
    tokens = _heartbeats(factory, 5)
    writer = PingWriter(factory, writers=1)
    outcomes = _one_then_the_rest(engine, writer, [PingIn(token=tokens[i % 5], client="10.0.0.1") for i in range(100)])

    assert all(isinstance(o, PingResult) and o.status == "up" for o in outcomes), outcomes[:3]
    assert (writer.stats.batches, writer.stats.largest_batch, writer.stats.pings) == (2, 99, 100)
    count, last = _stored(factory)
    assert count == 100
    with factory() as s:
        per_monitor = Counter(s.execute(select(Ping.monitor_id)).scalars())
        latest = dict(s.execute(select(Ping.monitor_id, func.max(Ping.at)).group_by(Ping.monitor_id)).all())
        monitors = s.execute(select(Monitor)).scalars().all()
    assert sorted(per_monitor.values()) == [20] * 5
    for m in monitors:  # the deadline follows the monitor's last ping of the batch
        assert m.last_ping_at == latest[m.id] and m.deadline_at == m.last_ping_at + dt.timedelta(hours=1, minutes=5)


def test_postgresql_engines_get_two_writer_threads_and_everything_else_one(db, session_factory):
    engine, factory = db
    assert PingWriter(factory).writers == (2 if engine.dialect.name == "postgresql" else 1)
    assert PingWriter(session_factory).writers == 1  # bound to one connection: one transaction at a time


def test_two_writer_threads_meeting_on_the_same_monitors_neither_lose_nor_double_pings(db):
    engine, factory = db
    tokens = _heartbeats(factory, 3)
    writer = PingWriter(factory, writers=2)
    pings = [PingIn(token=tokens[i % 3]) for i in range(300)]

    async def run():
        blocker = _Blocker(engine)
        try:  # both threads take a batch and wait on the same rows (or, on SQLite, the write lock)
            first = [asyncio.ensure_future(writer.record(p)) for p in pings[:2]]
            await _until(lambda: writer.stats.batches == 2 and writer.pending() == 0, "both threads hold a batch")
            rest = [asyncio.ensure_future(writer.record(p)) for p in pings[2:]]
            await _until(lambda: writer.pending() == len(rest), "the rest are queued")
        finally:
            blocker.release()
        return await asyncio.gather(*first, *rest, return_exceptions=True)

    outcomes = asyncio.run(run())
    assert all(isinstance(o, PingResult) for o in outcomes), [o for o in outcomes if not isinstance(o, PingResult)][:3]
    assert writer.stats.batches >= 3 and writer.stats.pings == 300
    with factory() as s:
        per_monitor = dict(s.execute(select(Ping.monitor_id, func.count()).group_by(Ping.monitor_id)).all())
        latest = dict(s.execute(select(Ping.monitor_id, func.max(Ping.at)).group_by(Ping.monitor_id)).all())
        monitors = s.execute(select(Monitor)).scalars().all()
    assert sorted(per_monitor.values()) == [100] * 3
    assert all(m.last_ping_at == latest[m.id] for m in monitors)


def test_a_batch_the_database_refuses_fails_every_ping_in_it_and_stores_nothing(db):
    engine, factory = db
    tokens = _heartbeats(factory, 3)
    with engine.begin() as conn:
        refuse_pings(conn)
    writer = PingWriter(factory, writers=1)
    outcomes = _one_then_the_rest(engine, writer, [PingIn(token=tokens[i % 3]) for i in range(10)])

    assert all(isinstance(o, PingNotRecorded) for o in outcomes), outcomes
    error = outcomes[-1]
    assert isinstance(error, Unavailable) and error.status_code == 503 and error.retryable
    assert error.code == "heartbeat.not_recorded" and "nothing was stored; retry the ping" in error.message
    assert writer.stats.failed_batches >= 1
    count, last = _stored(factory)
    assert count == 0 and set(last.values()) == {None}  # the monitors' updates were rolled back too

    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER wk_refuse" + (" ON monitoring_ping" if conn.dialect.name == "postgresql" else "")))
    assert asyncio.run(writer.record(PingIn(token=tokens[0]))).status == "up"  # the writer carries on
    assert _stored(factory)[0] == 1


def test_one_refused_ping_fails_alone_and_the_rest_of_its_batch_is_stored(db):
    engine, factory = db
    tokens = _heartbeats(factory, 3)
    with factory() as s:
        refused_id = s.execute(select(Monitor.id).where(Monitor.name == "hb-1")).scalar_one()
    with engine.begin() as conn:
        refuse_pings(conn, monitor_ids=[refused_id])
    writer = PingWriter(factory, writers=1)
    outcomes = _one_then_the_rest(engine, writer, [PingIn(token=tokens[i % 3]) for i in range(9)])

    assert [type(o).__name__ for o in outcomes] == ["PingResult", "PingNotRecorded", "PingResult"] * 3
    count, last = _stored(factory)
    assert count == 6 and last["hb-1"] is None and last["hb-0"] and last["hb-2"]


def test_a_failed_commit_fails_every_ping_of_its_batch_and_none_is_retried(pg_server):
    url = pg_server.new_database()
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        tokens = _heartbeats(factory, 2)
        with engine.begin() as conn:
            refuse_pings(conn, at_commit=True)  # every statement succeeds; COMMIT fails
        writer = PingWriter(factory, writers=1)
        outcomes = _one_then_the_rest(engine, writer, [PingIn(token=tokens[i % 2]) for i in range(6)])
        assert all(isinstance(o, PingNotRecorded) for o in outcomes), outcomes
        # Whether a failed COMMIT landed is unknown, so its pings are not retried one by one.
        assert (writer.stats.batches, writer.stats.failed_batches) == (2, 2)
        count, last = _stored(factory)
        assert count == 0 and set(last.values()) == {None}
    finally:
        engine.dispose()


def test_a_late_ping_in_a_batch_resolves_the_missed_heartbeat(db, frozen_clock, published):
    engine, factory = db
    tokens = _heartbeats(factory, 3, grace="10m")
    writer = PingWriter(factory, writers=1)
    assert all(isinstance(o, PingResult) for o in asyncio.run(_all(writer, [PingIn(token=t) for t in tokens])))
    clock.advance(dt.timedelta(hours=2))
    with factory() as s:
        assert heartbeats.check_heartbeats(s) == 3
        s.commit()
    assert [(e.name, e.labels["alertname"], e.firing) for e in published] == [
        ("hb-0", "HeartbeatMissed", True), ("hb-1", "HeartbeatMissed", True), ("hb-2", "HeartbeatMissed", True)]

    clock.advance(dt.timedelta(minutes=5))
    late = [PingIn(token=tokens[0], signal=PingSignal.START), PingIn(token=tokens[0]), PingIn(token=tokens[2]),
            PingIn(token="no-such-token")]
    outcomes = _one_then_the_rest(engine, writer, late)
    assert [getattr(o, "status", type(o).__name__) for o in outcomes] == ["down", "up", "up", "HeartbeatNotFound"]
    assert [(e.name, e.firing) for e in published[3:]] == [("hb-0", False), ("hb-2", False)]
    assert published[3].starts_at == frozen_clock + dt.timedelta(hours=1, minutes=10)  # when it went down
    with factory() as s:
        assert [(x.name, x.firing) for x in s.execute(select(Signal).order_by(Signal.id)).scalars()][3:] == [
            ("hb-0", False), ("hb-2", False)]
        assert {m.name: m.status for m in s.execute(select(Monitor)).scalars()} == {
            "hb-0": "up", "hb-1": "down", "hb-2": "up"}


_SIGNALS = st.sampled_from([PingSignal.START, PingSignal.SUCCESS, PingSignal.FAIL, 0, 1, 255])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["daily", "hourly", "paused", "unknown"]), _SIGNALS, st.booleans()),
                min_size=1, max_size=10))
def test_a_batch_ends_where_the_same_pings_one_at_a_time_end(session, frozen_clock, published, seq):
    def run(batched: bool):
        published.clear()
        nested = session.begin_nested()
        try:
            tokens = {"unknown": "no-such-token"}
            for name, spec in (("daily", {"cron": "0 3 * * *", "timezone": "Europe/Berlin"}), ("hourly", {"period": "1h"}),
                               ("paused", {"period": "1h"})):
                tokens[name] = make_monitor(session, name=name, heartbeat=spec).ping_path.split("/")[-1]
            monitoring.set_enabled(session, name="paused", enabled=False, actor=SYSTEM)
            pings = [PingIn(token=tokens[name], body="it broke" if with_body else None,
                            **({"signal": sig} if isinstance(sig, PingSignal) else {"exit_status": sig}))
                     for name, sig, with_body in seq]
            if batched:
                outcomes = heartbeats.record_pings(session, pings)
            else:
                outcomes = [_one(session, p) for p in pings]
            monitors = {m.name: (m.status, m.status_since, m.last_ping_at, m.last_start_at, m.deadline_at, m.last_error)
                        for m in session.execute(select(Monitor).execution_options(populate_existing=True)).scalars()}
            rows = session.execute(select(Monitor.name, Ping.signal, Ping.exit_status, Ping.body)
                                   .join(Monitor, Monitor.id == Ping.monitor_id).order_by(Ping.id)).all()
            return ([getattr(o, "status", type(o).__name__) for o in outcomes], monitors, rows,
                    [(e.name, e.firing) for e in published])
        finally:
            nested.rollback()

    assert run(batched=True) == run(batched=False)


def _one(session, ping: PingIn):
    try:
        return heartbeats.ping(session, token=ping.token, signal=ping.signal, exit_status=ping.exit_status, body=ping.body)
    except HeartbeatNotFound as exc:
        return exc


async def _all(writer: PingWriter, pings: list[PingIn]) -> list:
    return await asyncio.gather(*(writer.record(p) for p in pings), return_exceptions=True)


@pytest.mark.slow
def test_two_serve_processes_on_one_database_neither_lose_nor_double_pings(fresh_url, tmp_path):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    tokens = _heartbeats(factory, 4)
    ports = [free_port(), free_port()]
    env = {**os.environ, "WATCHKEEPER_DATABASE_URL": fresh_url, "WATCHKEEPER_DATA_DIR": str(tmp_path / "data"),
           "WATCHKEEPER_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "watchkeeper", "serve", "--no-worker", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for port in ports]
    try:
        for port, proc in zip(ports, procs):
            _wait_ready(port, proc)

        async def hammer() -> Counter:
            statuses: Counter = Counter()
            async with httpx.AsyncClient(timeout=30) as http:
                async def one_connection(i: int) -> None:
                    # Both processes ping the same monitors at once: their batches meet on the same rows.
                    for j in range(25):
                        port = ports[(i + j) % 2]
                        r = await http.get(f"http://127.0.0.1:{port}/ping/{tokens[(i + j) % 4]}")
                        statuses[r.status_code] += 1

                await asyncio.gather(*(one_connection(i) for i in range(16)))
            return statuses

        statuses = asyncio.run(hammer())
    finally:
        errors = []
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                errors.append(proc.communicate(timeout=30)[1])
            except subprocess.TimeoutExpired:
                proc.kill()
                errors.append(proc.communicate()[1])
    assert statuses == {200: 400}
    with factory() as s:
        per_monitor = dict(s.execute(select(Ping.monitor_id, func.count()).group_by(Ping.monitor_id)).all())
        latest = dict(s.execute(select(Ping.monitor_id, func.max(Ping.at)).group_by(Ping.monitor_id)).all())
        monitors = s.execute(select(Monitor)).scalars().all()
    engine.dispose()
    assert sorted(per_monitor.values()) == [100] * 4  # every 200 is one row: none lost, none doubled
    assert all(m.last_ping_at == latest[m.id] for m in monitors)  # no monitor's last ping went backwards
    assert not any("Traceback" in e for e in errors), errors


def _wait_ready(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve on port {port} did not start")
