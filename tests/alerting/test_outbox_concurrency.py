"""Several workers racing for the same outbox rows: each message goes out exactly once."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory
from watchkeeper.notify import delivery
from watchkeeper.notify import service as notify
from watchkeeper.notify.models import Outbox
from watchkeeper.notify.schemas import Message


def test_racing_workers_send_each_outbox_row_once(fresh_url, webhook_server):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        for i in range(60):
            notify.enqueue(session, key=f"race:{i}", receiver="hooks", channel={"type": "webhook", "url": webhook_server.url},
                           message=Message(subject=f"m{i}", text="x", data={"i": i}))
        session.commit()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while True:
                with factory() as s:
                    ids = delivery.due_ids(s, limit=5)
                    claimed = [c for c in (delivery.claim(s, outbox_id=i, worker=name) for i in ids) if c]
                    s.commit()
                if not ids:
                    return
                for c in claimed:
                    ok, response, error, retryable = delivery.send(c, secret=lambda _n: None)
                    with factory() as s:
                        delivery.record(s, c, ok=ok, response=response, error=error, retryable=retryable, latency_ms=0)
                        s.commit()
                # also race the per-row path on rows someone else holds
                for i in ids:
                    delivery.deliver(factory, outbox_id=i, worker=name, secret=lambda _n: None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    keys = Counter(r["headers"].get("Idempotency-Key") for r in webhook_server.requests)
    assert len(keys) == 60 and set(keys.values()) == {1}
    with factory() as s:
        assert set(s.execute(select(Outbox.status)).scalars()) == {"sent"}
    engine.dispose()
