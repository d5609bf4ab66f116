"""Heartbeats: public ping URLs, missed deadlines become alert events, late pings resolve them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.factories.catalog import make_service
from tests.factories.monitoring import make_monitor
from watchkeeper import clock
from watchkeeper.monitoring.probes import _heartbeat, heartbeats
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.models import Ping
from watchkeeper.signals.models import Signal
from watchkeeper.queue.context import JobContext
from watchkeeper.monitoring import jobs
from tests.factories.auth import SYSTEM


def _job(session, settings):
    return jobs.heartbeats(session, {}, JobContext(settings=settings, session_factory=None, job_id=None, attempt=1))


def test_missed_ping_past_grace_raises_an_alert_and_a_late_ping_resolves_it(session, client, frozen_clock, published, settings):
    make_service(session, name="billing")
    m = make_monitor(session, name="nightly-backup", service="billing", heartbeat={"period": "1h", "grace": "10m"})
    session.commit()
    first = client.post(m.ping_path, content=b"backup of 12 GB done")
    assert first.status_code == 200 and first.text == "OK nightly-backup up\n"
    assert monitoring.get_monitor(session, actor=SYSTEM, name="nightly-backup").deadline_at == frozen_clock + dt.timedelta(hours=1, minutes=10)

    clock.advance(dt.timedelta(hours=1, minutes=9))
    assert _job(session, settings) == {"down": 0}
    clock.advance(dt.timedelta(minutes=2))
    assert _job(session, settings) == {"down": 1}
    m = monitoring.get_monitor(session, actor=SYSTEM, name="nightly-backup")
    assert m.status == "down" and m.last_error.startswith("no ping since 2026-03-02 09:00:00 UTC; one was expected by 2026-03-02 10:00:00 UTC")
    assert [(e.source, e.labels["alertname"], e.firing) for e in published] == [("heartbeat", "HeartbeatMissed", True)]
    assert published[0].starts_at == frozen_clock + dt.timedelta(hours=1, minutes=10)
    assert _job(session, settings) == {"down": 0}  # fires once

    clock.advance(dt.timedelta(minutes=30))
    late = client.get(m.ping_path)
    assert late.status_code == 200
    assert [e.firing for e in published] == [True, False]
    assert monitoring.get_monitor(session, actor=SYSTEM, name="nightly-backup").status == "up"
    assert [p.body for p in session.execute(select(Ping).order_by(Ping.id)).scalars()] == ["backup of 12 GB done", None]


def test_fail_signal_and_exit_status_take_it_down_at_once(session, client, published):
    m = make_monitor(session, name="cron", heartbeat={"period": "1d"})
    session.commit()
    assert client.post(f"{m.ping_path}/fail", content=b"pg_dump: connection refused").text == "OK cron down\n"
    assert monitoring.get_monitor(session, actor=SYSTEM, name="cron").last_error == "the job reported failure: pg_dump: connection refused"
    assert client.get(f"{m.ping_path}/0").text == "OK cron up\n"
    assert client.get(f"{m.ping_path}/2").text == "OK cron down\n"
    assert monitoring.get_monitor(session, actor=SYSTEM, name="cron").last_error == "the job reported failure (exit status 2)"
    assert [e.firing for e in published] == [True, False, True]
    assert client.head(m.ping_path).status_code == 200


def test_start_signal_requires_success_within_the_grace(session, client, frozen_clock, settings):
    m = make_monitor(session, name="etl", heartbeat={"period": "1d", "grace": "15m"})
    session.commit()
    client.get(m.ping_path)
    clock.advance(dt.timedelta(hours=20))
    assert client.get(f"{m.ping_path}/start").status_code == 200
    clock.advance(dt.timedelta(minutes=16))
    assert _job(session, settings) == {"down": 1}
    assert "has not reported success within the grace time" in monitoring.get_monitor(session, actor=SYSTEM, name="etl").last_error


def test_unknown_token_and_bad_signal_get_clear_errors(client):
    r = client.get("/ping/not-a-real-token")
    assert r.status_code == 404 and r.json()["error"]["code"] == "heartbeat.not_found"
    r = client.get("/ping/not-a-real-token/sometimes")
    assert r.status_code == 422 and "unknown ping signal 'sometimes'" in r.json()["error"]["message"]


def test_pings_need_no_authentication_but_the_api_does(session, client):
    m = make_monitor(session, name="hb", heartbeat={"period": "1h"})
    session.commit()
    assert client.get(m.ping_path).status_code == 200
    assert client.get("/api/v1/monitors/hb").status_code == 401


def test_a_heartbeat_that_never_pinged_does_not_page(session, frozen_clock, settings, published):
    make_monitor(session, name="new", heartbeat={"period": "1m", "grace": "1m"})
    clock.advance(dt.timedelta(days=2))
    assert _job(session, settings) == {"down": 0} and published == []
    assert monitoring.get_monitor(session, actor=SYSTEM, name="new").status == "pending"


def test_cron_deadlines_follow_the_time_zone():
    # 03:00 Berlin is 02:00 UTC in winter and 01:00 UTC in summer
    winter = dt.datetime(2026, 1, 10, 2, 5, tzinfo=dt.timezone.utc)
    summer = dt.datetime(2026, 7, 10, 1, 5, tzinfo=dt.timezone.utc)
    kw = dict(last_start=None, period=None, cron="0 3 * * *", timezone="Europe/Berlin", grace=dt.timedelta(minutes=30))
    assert _heartbeat.deadline(last_ping=winter, **kw) == dt.datetime(2026, 1, 11, 2, 30, tzinfo=dt.timezone.utc)
    assert _heartbeat.deadline(last_ping=summer, **kw) == dt.datetime(2026, 7, 11, 1, 30, tzinfo=dt.timezone.utc)



def test_a_fixed_time_cron_heartbeat_stays_up_through_the_fall_back_night(session, client, frozen_clock, settings, published):
    # Issue 10 item 6: "30 2 * * *" in Europe/Berlin runs once on 25 Oct 2026 (02:30 summer time,
    # as cron(8) runs it); croniter expected it again at 02:30 winter time and paged at 02:40.
    m = make_monitor(session, name="nightly", heartbeat={"cron": "30 2 * * *", "timezone": "Europe/Berlin", "grace": "10m"})
    session.commit()
    clock.set_frozen(dt.datetime(2026, 10, 25, 0, 30, 5, tzinfo=dt.timezone.utc))  # 02:30:05 CEST
    assert client.get(m.ping_path).text == "OK nightly up\n"
    assert monitoring.get_monitor(session, actor=SYSTEM, name="nightly").deadline_at == dt.datetime(2026, 10, 26, 1, 40, tzinfo=dt.timezone.utc)
    clock.set_frozen(dt.datetime(2026, 10, 25, 1, 45, tzinfo=dt.timezone.utc))  # 02:45 CET
    assert _job(session, settings) == {"down": 0} and published == []
    assert monitoring.get_monitor(session, actor=SYSTEM, name="nightly").status == "up"


# ---------------------------------------------------------------- the ping endpoint itself


def _router_only_app(container):
    """The documented /ping/ routes alone, without create_app's PingFastPath in front."""
    from fastapi import FastAPI

    from watchkeeper.api import errors
    from watchkeeper.api.pings import ping_router

    app = FastAPI()
    app.state.container = container
    app.include_router(ping_router)
    errors.install(app)
    return app


@pytest.mark.parametrize("composition", ["create_app", "routes_only"])
def test_the_fast_path_answers_exactly_as_the_documented_routes(session, container, app, composition):
    from fastapi.testclient import TestClient

    m = make_monitor(session, name="hb", heartbeat={"period": "1h"})
    session.commit()
    target = app if composition == "create_app" else _router_only_app(container)
    with TestClient(target, base_url="http://127.0.0.1") as c:
        seen = []
        for method, path, body in [
            ("GET", m.ping_path, None), ("POST", f"{m.ping_path}/fail", b"disk full"), ("HEAD", m.ping_path, None),
            ("GET", f"{m.ping_path}/start", None), ("POST", f"{m.ping_path}/0", b""), ("GET", f"{m.ping_path}/300", None),
            ("GET", f"{m.ping_path}/sometimes", None), ("GET", "/ping/not-a-token", None),
        ]:
            r = c.request(method, path, content=body)
            seen.append((r.status_code, r.headers.get("content-type"), r.json()["error"] if r.status_code >= 400 else r.text))
    assert seen == [
        (200, "text/plain; charset=utf-8", "OK hb up\n"),
        (200, "text/plain; charset=utf-8", "OK hb down\n"),
        (200, None, ""),  # HEAD is a success ping too
        (200, "text/plain; charset=utf-8", "OK hb up\n"),
        (200, "text/plain; charset=utf-8", "OK hb up\n"),
        (422, "application/json", {"code": "invalid_input", "message": "exit status 300 is out of range; send 0-255",
                                   "field": "signal"}),
        (422, "application/json", {"code": "invalid_input", "field": "signal", "message":
                                   "unknown ping signal 'sometimes'; use start, success, fail or an exit status"}),
        (404, "application/json", {"code": "heartbeat.not_found", "field": None, "message":
                                   "no heartbeat monitor has this ping URL; copy it from `watchkeeper monitor show NAME`"}),
    ]
    pings = heartbeats.list_pings(session, actor=SYSTEM, name="hb")
    assert [(p["signal"], p["exit_status"], p["body"]) for p in reversed(pings)] == [
        ("success", None, None), ("fail", None, "disk full"), ("success", None, None), ("start", None, None),
        ("success", 0, None)]


def test_pings_are_counted_by_route_template_and_the_writer_reports_its_batches(session, client):
    m = make_monitor(session, name="hb", heartbeat={"period": "1h"})
    session.commit()
    client.get(m.ping_path)
    client.post(f"{m.ping_path}/start")
    client.get("/ping/not-a-token")
    text = client.get("/metrics").text
    assert 'watchkeeper_http_requests_total{method="GET",route="/ping/{token}",status="200"} 1.0' in text
    assert 'watchkeeper_http_requests_total{method="GET",route="/ping/{token}",status="404"} 1.0' in text
    assert 'watchkeeper_http_requests_total{method="POST",route="/ping/{token}/{signal}",status="200"} 1.0' in text
    assert "watchkeeper_ping_batch_pings_total 3.0" in text  # the unknown token was looked up in a batch too
    assert "watchkeeper_ping_batch_failures_total 0.0" in text


def test_paths_the_fast_path_does_not_know_go_on_to_the_router(client):
    r = client.get("/ping/a/b/c")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.delete("/ping/some-token")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_a_ping_the_database_cannot_store_gets_a_503_and_changes_nothing(session, client):
    from tests.monitoring.test_ping_writer import refuse_pings

    m = make_monitor(session, name="hb", heartbeat={"period": "1h"})
    session.commit()
    refuse_pings(session.connection())
    r = client.post(f"{m.ping_path}/fail", content=b"backup failed")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "heartbeat.not_recorded" and "retry the ping" in r.json()["error"]["message"]
    session.expire_all()
    hb = monitoring.get_monitor(session, actor=SYSTEM, name="hb")
    assert hb.status == "pending" and hb.last_ping_at is None
    assert session.execute(select(Ping)).first() is None
    assert session.execute(select(Signal)).first() is None  # its down transition was rolled back with it
