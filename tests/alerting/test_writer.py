"""The ingest writer (group commit) on a database of its own: many concurrent requests share
transactions, each gets its own counts, a failing batch fails alone, and a request that gave
up does not take the writer down."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

import pytest
from sqlalchemy import func, select

from watchkeeper import clock
from watchkeeper.alerting import ingest as _ingest
from watchkeeper.alerting.models import Alert, AlertEvent
from watchkeeper.alerting.writer import Writer
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory


@pytest.fixture
def factory(fresh_url):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _items(*names: str, status: str = "firing", starts_at: dt.datetime | None = None) -> dict[str, _ingest.Item]:
    out = {}
    for name in names:
        labels = {"alertname": name, "service": "checkout", "severity": "critical"}
        item = _ingest.Item(fingerprint=_ingest.fingerprint_of(labels), labels=labels, annotations={"summary": f"{name} is down"},
                            status=status, starts_at=starts_at or clock.utcnow(), ends_at=None, generator_url=None)
        out[item.fingerprint] = item
    return out


def test_concurrent_requests_each_get_their_own_counts_and_every_alert_is_stored_once(factory):
    writer = Writer(factory)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        # 40 requests: each sends two alerts of its own and one shared by all.
        results = list(pool.map(lambda i: writer.submit(_items(f"A{i}", f"B{i}", "Shared"), source="api"), range(40)))
    assert all(r.received == 3 for r in results)
    assert sum(r.created for r in results) == 81  # 80 own + the shared one, once
    assert sum(r.created + r.updated for r in results) == 120
    with factory() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar() == 81
        shared = s.execute(select(Alert).where(Alert.alertname == "Shared")).scalar_one()
        assert shared.receive_count == 40
        fired = s.execute(select(func.count()).select_from(AlertEvent).where(AlertEvent.kind == "fired")).scalar()
        assert fired == 81


def test_a_failing_batch_fails_alone_and_the_others_commit(factory):
    writer = Writer(factory)
    naive = dt.datetime(2026, 1, 1, 12, 0)  # a naive time cannot be stored: this batch must fail
    bad = writer.submit_nowait(_items("Bad", starts_at=naive), source="api")
    good = [writer.submit_nowait(_items(f"Good{i}"), source="api") for i in range(5)]
    assert [f.result(timeout=30).created for f in good] == [1] * 5
    with pytest.raises(Exception, match="naive datetime"):
        bad.result(timeout=30)
    with factory() as s:
        names = set(s.execute(select(Alert.alertname)).scalars())
    assert names == {f"Good{i}" for i in range(5)}


def test_a_request_that_gave_up_does_not_stop_the_writer(factory):
    writer = Writer(factory)
    futures = [writer.submit_nowait(_items(f"Gone{i}"), source="api") for i in range(20)]
    for f in futures[::2]:
        f.cancel()  # the client went away (asyncio cancels the wrapped future)
    assert writer.submit(_items("After"), source="api", timeout=30).created == 1
    for f in futures[1::2]:
        assert f.result(timeout=30).created == 1
