"""From alert to inbox: group wait / interval / repeat, the outbox, retries, dead letters,
interrupted sends, signed webhooks — against a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.factories.alerting import alert, configure, email_receiver, ingest, webhook_receiver
from watchkeeper import clock
from watchkeeper.notify import delivery
from watchkeeper.notify.channels import webhook as webhook_channel
from watchkeeper.notify.models import Attempt, Outbox


def _route(receiver: str, **timings) -> dict:
    return {"receiver": receiver, "group_by": ["alertname"], "group_wait": "30s", "group_interval": "5m",
            "repeat_interval": "4h", **timings}


def test_group_wait_collects_alerts_into_one_email_then_the_resolution_follows(session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route("ops"))
    ingest(session, alert(service="checkout", instance="a"))
    clock.advance(dt.timedelta(seconds=10))
    ingest(session, alert(service="checkout", instance="b"))
    session.commit()
    worker.run_once()
    assert smtp_server.messages == []  # still inside group_wait
    clock.advance(dt.timedelta(seconds=21))
    worker.run_once()
    assert smtp_server.subjects() == ["[FIRING:2] HighErrorRate — checkout"]
    body = smtp_server.bodies()[0]
    assert "instance=a" in body and "instance=b" in body and "/ack/" in body
    # A repeat with nothing new sends nothing, even after the group interval.
    clock.advance(dt.timedelta(minutes=6))
    ingest(session, alert(service="checkout", instance="a"))
    session.commit()
    worker.run_once()
    assert len(smtp_server.messages) == 1
    # A resolution waits for the group interval since the last notification, then goes out.
    ingest(session, alert(service="checkout", instance="a", status="resolved"))
    session.commit()
    worker.run_once()
    assert len(smtp_server.messages) == 2
    assert smtp_server.subjects()[1] == "[FIRING:1] HighErrorRate — checkout"
    assert "Resolved (1)" in smtp_server.bodies()[1]


def test_the_repeat_interval_resends_a_still_firing_group(session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route("ops", repeat_interval="1h"))
    ingest(session, alert(service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    assert len(smtp_server.messages) == 1
    clock.advance(dt.timedelta(minutes=59))
    worker.run_once()
    assert len(smtp_server.messages) == 1
    clock.advance(dt.timedelta(minutes=1, seconds=1))
    worker.run_once()
    assert len(smtp_server.messages) == 2


def test_an_smtp_outage_delays_but_never_drops_or_duplicates(session, frozen_clock, smtp_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route("ops"))
    smtp_server.stop()
    ingest(session, alert(service="checkout"), alert("DiskFull", service="db"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    session.expire_all()
    rows = session.execute(select(Outbox)).scalars().all()
    assert len(rows) == 2 and {r.status for r in rows} == {"pending"} and {r.attempts for r in rows} == {1}
    for _ in range(4):  # the outage lasts a few retries: 5 s, 10 s, 20 s, 40 s of backoff
        clock.advance(dt.timedelta(minutes=2))
        worker.run_once()
    session.expire_all()
    assert {r.attempts for r in session.execute(select(Outbox)).scalars()} == {5}
    smtp_server.start()
    clock.advance(dt.timedelta(minutes=2))
    worker.run_once()
    clock.advance(dt.timedelta(minutes=10))
    worker.run_once()
    assert sorted(smtp_server.subjects()) == ["[FIRING:1] DiskFull — db", "[FIRING:1] HighErrorRate — checkout"]
    session.expire_all()
    rows = session.execute(select(Outbox)).scalars().all()
    assert {r.status for r in rows} == {"sent"}
    attempts = session.execute(select(Attempt).order_by(Attempt.outbox_id, Attempt.number)).scalars().all()
    assert [a.status for a in attempts if a.outbox_id == rows[0].id] == ["failed"] * 5 + ["ok"]
    assert all(a.latency_ms is not None for a in attempts)
    assert "cannot reach SMTP server" in attempts[0].error and attempts[0].retryable is True


def test_after_the_last_attempt_a_notification_is_dead_and_can_be_retried_by_hand(session, frozen_clock, smtp_server, worker, personas):
    from watchkeeper.alerting import service as alerting

    configure(session, receivers=[email_receiver("ops", smtp_server.port)], route=_route("ops"), delivery={"max_attempts": 2})
    smtp_server.stop()
    ingest(session, alert(service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    clock.advance(dt.timedelta(minutes=1))
    worker.run_once()
    session.expire_all()
    row = session.execute(select(Outbox)).scalar_one()
    assert row.status == "dead" and row.attempts == 2
    smtp_server.start()
    from tests.factories.catalog import make_service

    make_service(session, name="checkout", team="payments")
    alerting.retry_notification(session, outbox_id=row.id, actor=personas["bob"].actor)
    session.commit()
    worker.run_once()
    session.expire_all()
    assert session.get(Outbox, row.id).status == "sent" and len(smtp_server.messages) == 1


def test_a_webhook_is_signed_so_the_receiver_can_verify_it(session, frozen_clock, webhook_server, worker, monkeypatch):
    monkeypatch.setenv("WK_TEST_HOOK_SECRET", "s3cret-value-for-hmac")
    configure(session, receivers=[webhook_receiver("hooks", webhook_server.url, secret_env="WK_TEST_HOOK_SECRET")], route=_route("hooks"))
    ingest(session, alert(service="checkout", severity="critical"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    assert len(webhook_server.requests) == 1
    req = webhook_server.requests[0]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert webhook_channel.verify("s3cret-value-for-hmac", headers["x-watchkeeper-timestamp"], req["body"],
                                  headers["x-watchkeeper-signature"])
    assert not webhook_channel.verify("wrong-secret", headers["x-watchkeeper-timestamp"], req["body"], headers["x-watchkeeper-signature"])
    assert headers["idempotency-key"].startswith("alerting:g")
    body = req["json"]
    assert body["status"] == "firing" and body["alerts"][0]["labels"]["service"] == "checkout"
    assert body["links"]["ack"].startswith("http://127.0.0.1:8080/ack/")


def test_a_webhook_answering_4xx_is_dead_at_once_and_5xx_is_retried(session, frozen_clock, webhook_server, worker):
    configure(session, receivers=[webhook_receiver("hooks", webhook_server.url)], route=_route("hooks"))
    webhook_server.status = 503
    ingest(session, alert(service="checkout"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    worker.run_once()
    session.expire_all()
    assert session.execute(select(Outbox.status)).scalar_one() == "pending"
    webhook_server.status = 401
    clock.advance(dt.timedelta(seconds=10))
    worker.run_once()
    session.expire_all()
    row = session.execute(select(Outbox)).scalar_one()
    assert row.status == "dead" and "401" in row.last_error
    assert len(webhook_server.requests) == 2


def test_a_send_interrupted_by_a_crash_is_not_resent_by_email_but_is_by_webhook(session, frozen_clock, smtp_server,
                                                                                webhook_server, worker):
    configure(session, receivers=[email_receiver("ops", smtp_server.port),
                                  {"name": "hooks", "channels": [{"type": "webhook", "url": webhook_server.url}]}],
              route={**_route("ops"), "routes": [{"matchers": ['severity="critical"'], "receiver": "hooks", "continue": True},
                                                 {"matchers": ['service="checkout"'], "receiver": "ops"}]})
    ingest(session, alert(service="checkout", severity="critical"))
    session.commit()
    clock.advance(dt.timedelta(seconds=31))
    # Run only the flush: the delivery jobs stay queued, as if the worker died right after claiming.
    from watchkeeper.worker import service as queue

    flush_jobs = [j for j in queue.list_jobs(session, filter=queue.JobFilter(kind="alerting.flush"))]
    assert flush_jobs
    worker.jobs = {k: v for k, v in worker.jobs.items() if k == "alerting.flush"}
    worker.run_once()
    rows = session.execute(select(Outbox).order_by(Outbox.id)).scalars().all()
    assert sorted(r.channel_kind for r in rows) == ["email", "webhook"]
    for row in rows:  # claim both (attempt written 'sending') and "crash" before sending
        assert delivery.claim(session, outbox_id=row.id, worker="doomed") is not None
    session.commit()
    clock.advance(delivery.LEASE + dt.timedelta(seconds=1))
    recovered = delivery.recover_interrupted(session)
    session.commit()
    assert recovered == {"resent": 1, "unconfirmed": 1}
    session.expire_all()
    by_kind = {r.channel_kind: r for r in session.execute(select(Outbox)).scalars()}
    assert by_kind["email"].status == "unconfirmed" and "may or may not have gone out" in by_kind["email"].last_error
    assert by_kind["webhook"].status == "pending"
    worker.jobs = dict(__import__("watchkeeper.worker.registry", fromlist=["JOBS"]).JOBS)
    worker.run_once()
    assert smtp_server.messages == [] and len(webhook_server.requests) == 1
    statuses = [a.status for a in session.execute(select(Attempt).where(Attempt.outbox_id == by_kind["webhook"].id).order_by(Attempt.number)).scalars()]
    assert statuses == ["unknown", "ok"]
