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


def test_a_send_cut_off_by_a_crash_is_recovered_by_how_far_it_got(session, frozen_clock, smtp_server, webhook_server,
                                                                    worker, personas):
    """Recovery after a worker died mid-send goes by the attempt's recorded stage: nothing
    handed over → sent again (not a duplicate); accepted → recorded as sent, not sent again;
    inside the exchange → sent again with the same Message-ID / Idempotency-Key and marked as a
    possible duplicate (at-least-once, the default) or held as unconfirmed (at-most-once)."""
    from watchkeeper.alerting import service as alerting
    from watchkeeper.notify import service as outbox
    from watchkeeper.notify.channels.email import message_id
    from watchkeeper.notify.schemas import Message

    mail = {"type": "email", "to": ["ops@example.com"], "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port}
    cases = {  # name: (channel, stage reached when the worker died)
        "unsent": (mail, "claimed"),
        "ambiguous": (mail, "transmitting"),
        "careful": ({**mail, "guarantee": "at-most-once"}, "transmitting"),
        "delivered": (mail, "accepted"),
        "legacy": (mail, None),  # an attempt from before stages were recorded
        "hook": ({"type": "webhook", "url": webhook_server.url}, "transmitting"),
    }
    ids = {name: outbox.enqueue(session, key=f"crash:{name}", receiver="ops", channel=channel,
                                message=Message(subject=f"page {name}", text=name))
           for name, (channel, _) in cases.items()}
    session.commit()
    for name, (_, stage) in cases.items():  # claim each (attempt written) and "crash" at its stage
        claimed = delivery.claim(session, outbox_id=ids[name], worker="doomed")
        assert claimed is not None
        session.execute(Attempt.__table__.update().where(Attempt.id == claimed.attempt_id).values(stage=stage))
    session.commit()
    clock.advance(delivery.LEASE + dt.timedelta(seconds=1))
    recovered = delivery.recover_interrupted(session)
    session.commit()
    assert recovered == {"resent": 1, "resent_possible_duplicate": 3, "unconfirmed": 1, "delivered": 1, "dead": 0}
    session.expire_all()
    rows = {name: session.get(Outbox, ids[name]) for name in cases}
    assert {n: (r.status, r.possible_duplicate) for n, r in rows.items()} == {
        "unsent": ("pending", False), "ambiguous": ("pending", True), "careful": ("unconfirmed", False),
        "delivered": ("sent", False), "legacy": ("pending", True), "hook": ("pending", True)}
    assert "may or may not have gone out" in rows["careful"].last_error

    worker.run_once()
    got = {str(m["Subject"]).removeprefix("page "): m for m in smtp_server.messages}
    assert sorted(got) == ["ambiguous", "legacy", "unsent"], "each resent once; the delivered and the held one not"
    assert len(smtp_server.messages) == 3
    for name, m in got.items():
        assert m["Message-ID"] == message_id(f"crash:{name}"), "the same Message-ID on every attempt"
        assert (m["X-Watchkeeper-Possible-Duplicate"] is not None) == (name != "unsent"), name
    assert [r["headers"].get("X-Watchkeeper-Possible-Duplicate") for r in webhook_server.requests] == ["true"]
    assert webhook_server.requests[0]["headers"]["Idempotency-Key"] == "crash:hook"
    history = {n: [(a.status, a.stage) for a in session.execute(
        select(Attempt).where(Attempt.outbox_id == ids[n]).order_by(Attempt.number)).scalars()] for n in cases}
    assert history["unsent"] == [("failed", "claimed"), ("ok", "accepted")]
    assert history["ambiguous"] == [("unknown", "transmitting"), ("ok", "accepted")]
    assert history["delivered"] == [("ok", "accepted")]
    assert history["careful"] == [("unknown", "transmitting")]

    # A person retries the held one: it goes out, marked as a possible duplicate.
    alerting.retry_notification(session, outbox_id=ids["careful"], actor=personas["root"].actor)
    session.commit()
    worker.run_once()
    session.expire_all()
    assert session.get(Outbox, ids["careful"]).possible_duplicate
    repeat = [m for m in smtp_server.messages if str(m["Subject"]) == "page careful"]
    assert len(repeat) == 1 and repeat[0]["X-Watchkeeper-Possible-Duplicate"] is not None
