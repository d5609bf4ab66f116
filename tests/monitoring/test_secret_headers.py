"""Secrets in probe and webhook headers (issue 9 item 6): credential header values are never
shown to readers (API, UI, audit log), a read-modify-write keeps them, the audit log records
that one changed, and `secret_headers` keeps them out of the database altogether."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.factories.catalog import make_service
from watchkeeper.alerting import routing
from watchkeeper.alerting.schemas import ReceiverConfig
from watchkeeper.audit.models import AuditEvent
from watchkeeper.configfile import loader, plan
from watchkeeper.monitoring.models import Monitor

SECRET = "Bearer s3cr3t-value-4711"


class _Target(tuple):
    paths: list[str]


@pytest.fixture
def target():
    """An HTTP server that remembers the Authorization header (and, in `.paths`, the path) of
    every request. Unpacks as (url, authorization headers)."""
    seen: list[str | None] = []
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = _Target((f"http://127.0.0.1:{server.server_address[1]}/", seen))
    out.paths = paths
    yield out
    server.shutdown()
    server.server_close()


def _audit_text(session) -> str:
    rows = session.execute(select(AuditEvent)).scalars().all()
    return json.dumps([[r.action, r.before, r.after] for r in rows], default=str)


def test_readers_never_see_a_probe_credential_and_the_check_still_sends_it(session, client, personas, target):
    url, seen = target
    make_service(session, name="checkout", team="payments")
    session.commit()
    alice, bob = personas["alice"].headers, personas["bob"].headers
    body = {"name": "api", "service": "checkout",
            "http": {"url": url, "headers": {"Authorization": SECRET, "Accept": "text/plain"}}}
    r = client.post("/api/v1/monitors", headers=alice, json=body)
    assert r.status_code == 201 and SECRET not in r.text
    for who in (alice, bob):
        got = client.get("/api/v1/monitors/api", headers=who).json()["http"]["headers"]
        assert got == {"Authorization": "<redacted>", "Accept": "text/plain"}
        assert SECRET not in client.get("/api/v1/monitors", headers=who).text
    assert client.post("/api/v1/monitors/api/check", headers=alice).json()["status"] == "up"
    assert seen[-1] == SECRET

    # read-modify-write: the placeholder sent back keeps the stored value
    spec = client.get("/api/v1/monitors/api", headers=alice).json()["http"]
    spec["headers"]["Accept"] = "application/json"
    assert client.patch("/api/v1/monitors/api", headers=alice, json={"http": spec}).status_code == 200
    assert client.post("/api/v1/monitors/api/check", headers=alice).json()["status"] == "up"
    assert seen[-1] == SECRET
    # a new value: the audit log says which secret changed, never the value
    spec["headers"]["Authorization"] = "Bearer rotated-0815"
    assert client.patch("/api/v1/monitors/api", headers=alice, json={"http": spec}).status_code == 200
    client.post("/api/v1/monitors/api/check", headers=alice)
    assert seen[-1] == "Bearer rotated-0815"
    updates = session.execute(select(AuditEvent).where(AuditEvent.action == "monitor.update")
                              .order_by(AuditEvent.id)).scalars().all()
    assert "secrets_changed" not in (updates[0].after or {})
    assert updates[-1].after["secrets_changed"] == ["http.headers.Authorization"]
    text = _audit_text(session) + client.get("/api/v1/audit/events", headers=personas["root"].headers).text
    assert SECRET not in text and "rotated-0815" not in text

    # the UI page of a reader
    client.post("/login", data={"username": "bob", "password": personas["bob"].password})
    page = client.get("/monitors/api")
    assert page.status_code == 200 and "rotated-0815" not in page.text


def test_secret_headers_come_from_the_environment_and_never_reach_the_database(session, client, personas, target,
                                                                                monkeypatch):
    url, seen = target
    root = personas["root"].headers
    monkeypatch.setenv("PROBE_AUTH", SECRET)
    body = {"name": "envy", "http": {"url": url, "secret_headers": {"Authorization": "PROBE_AUTH"}}}
    assert client.post("/api/v1/monitors", headers=root, json=body).status_code == 201
    assert client.post("/api/v1/monitors/envy/check", headers=root).json()["status"] == "up"
    assert seen[-1] == SECRET
    stored = session.execute(select(Monitor.spec).where(Monitor.name == "envy")).scalar_one()
    assert SECRET not in json.dumps(stored) and stored["secret_headers"] == {"Authorization": "PROBE_AUTH"}
    monkeypatch.delenv("PROBE_AUTH")
    r = client.post("/api/v1/monitors/envy/check", headers=root).json()
    assert r["status"] == "down"
    assert r["error"] == ("environment variable PROBE_AUTH (header Authorization) is not set on this worker; "
                          "set it or fix secret_headers")
    bad = {"name": "bad", "http": {"url": url, "secret_headers": {"Authorization": "not an env name"}}}
    assert client.post("/api/v1/monitors", headers=root, json=bad).status_code == 422


def test_webhook_headers_are_redacted_for_readers_and_in_the_audit_log(session, client, personas, system_actor):
    channel = {"type": "webhook", "url": "https://hooks.example/x",
               "headers": {"X-Api-Key": "k-123456789", "X-Team": "payments"}}
    routing.put_receiver(session, data=ReceiverConfig(name="hook", channels=[channel]), actor=system_actor)
    # the same channels sent back as read: the stored key is kept; then a new key
    shown = client.get("/api/v1/receivers", headers=personas["bob"].headers)
    session.commit()
    listed = {r["name"]: r for r in client.get("/api/v1/receivers", headers=personas["bob"].headers).json()}
    assert listed["hook"]["channels"][0]["headers"] == {"X-Api-Key": "<redacted>", "X-Team": "payments"}
    assert shown.status_code == 200
    routing.put_receiver(session, data=ReceiverConfig(name="hook", channels=listed["hook"]["channels"]), actor=system_actor)
    assert routing.list_receivers(session, actor=system_actor, reveal=True)[0].channels[0]["headers"]["X-Api-Key"] == "k-123456789"
    channel["headers"]["X-Api-Key"] = "k-rotated"
    routing.put_receiver(session, data=ReceiverConfig(name="hook", channels=[channel]), actor=system_actor)
    last = session.execute(select(AuditEvent).where(AuditEvent.action == "receiver.update")
                           .order_by(AuditEvent.id.desc())).scalars().first()
    assert last.after["secrets_changed"] == ["channels[0].headers.X-Api-Key"]
    text = _audit_text(session)
    assert "k-123456789" not in text and "k-rotated" not in text


def test_config_apply_stays_idempotent_with_credential_headers(session, system_actor):
    text = """
version: 1
monitors:
  - name: private-api
    http:
      url: http://127.0.0.1:9/health
      headers: {Authorization: "Bearer from-the-file"}
alerting:
  route: {receiver: hook}
  receivers:
    - name: hook
      channels:
        - type: webhook
          url: https://hooks.example/x
          headers: {X-Api-Key: from-the-file}
"""
    cfg = loader.load_text(text, file="test.yaml")
    assert not plan.apply(session, cfg, actor=system_actor).empty
    second = plan.apply(session, cfg, actor=system_actor)
    assert second.empty, [c.describe() for c in second.changes]
    stored = session.execute(select(Monitor.spec).where(Monitor.name == "private-api")).scalar_one()
    assert stored["headers"]["Authorization"] == "Bearer from-the-file"


def test_a_ping_url_is_shown_only_to_those_who_may_change_the_monitor(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    alice = personas["alice"].headers
    r = client.post("/api/v1/monitors", headers=alice,
                    json={"name": "nightly", "service": "checkout", "heartbeat": {"period": "1d", "grace": "1h"}})
    path = r.json()["ping_path"]
    assert r.status_code == 201 and path.startswith("/ping/")
    token = path.rsplit("/", 1)[1]
    assert client.get("/api/v1/monitors/nightly", headers=alice).json()["ping_path"] == path
    assert client.get("/api/v1/monitors/nightly", headers=personas["root"].headers).json()["ping_path"] == path
    for reader in ("bob", "audrey"):  # a responder of the team, an auditor: they read, they may not ping
        h = personas[reader].headers
        assert client.get("/api/v1/monitors/nightly", headers=h).json()["ping_path"] is None
        assert all(m["ping_path"] is None for m in client.get("/api/v1/monitors", headers=h).json())
    client.post("/login", data={"username": "bob", "password": personas["bob"].password})
    page = client.get("/monitors/nightly")
    assert page.status_code == 200 and token not in page.text and "shown to those who may change" in page.text


def test_credentials_in_a_url_are_redacted_for_readers_and_kept_on_write(session, client, personas, target):
    import base64

    url, seen = target
    port = url.rsplit(":", 1)[1].strip("/")
    alice, bob = personas["alice"].headers, personas["bob"].headers
    secret_url = f"http://probe:pa55word@127.0.0.1:{port}/health?token=t0k3n&x=1"
    make_service(session, name="checkout", team="payments")
    session.commit()
    body = {"name": "u", "service": "checkout", "http": {"url": secret_url}}
    assert client.post("/api/v1/monitors", headers=alice, json=body).status_code == 201
    shown = client.get("/api/v1/monitors/u", headers=bob).json()["http"]["url"]
    assert shown == f"http://probe:redacted@127.0.0.1:{port}/health?token=redacted&x=1"
    r = client.post("/api/v1/monitors/u/check", headers=alice).json()
    assert r["status"] == "up" and "t0k3n" not in json.dumps(r) and "pa55word" not in json.dumps(r)
    assert seen[-1] == "Basic " + base64.b64encode(b"probe:pa55word").decode() and target.paths[-1].endswith("token=t0k3n&x=1")
    # sent back as read: kept; the audit log holds neither part
    spec = client.get("/api/v1/monitors/u", headers=alice).json()["http"]
    assert client.patch("/api/v1/monitors/u", headers=alice, json={"http": {**spec, "method": "GET"}}).status_code == 200
    client.post("/api/v1/monitors/u/check", headers=alice)
    assert target.paths[-1].endswith("token=t0k3n&x=1")
    spec["url"] = f"http://probe:n3w-pass@127.0.0.1:{port}/health?token=t0k3n&x=1"
    client.patch("/api/v1/monitors/u", headers=alice, json={"http": spec})
    last = session.execute(select(AuditEvent).where(AuditEvent.action == "monitor.update")
                           .order_by(AuditEvent.id.desc())).scalars().first()
    assert last.after["secrets_changed"] == ["http.url"]
    text = _audit_text(session)
    assert "pa55word" not in text and "t0k3n" not in text and "n3w-pass" not in text


def test_probe_errors_never_quote_a_url_password():
    import asyncio

    from watchkeeper.monitoring.probes.kinds import HttpClients, ProbeContext, parse_spec
    from watchkeeper.monitoring.probes.kinds import run as run_probe

    async def go(kind, **spec):
        clients = HttpClients()
        try:
            return await run_probe(parse_spec(kind, spec), ProbeContext("m", "t", 2.0, clients))
        finally:
            await clients.aclose()

    for kind in ("scrape", "prometheus"):
        extra = {"query": "up"} if kind == "prometheus" else {}
        r = asyncio.run(go(kind, url="http://scraper:hunter22@127.0.0.1:9/metrics?api_key=k1", **extra))
        assert not r.ok and "hunter22" not in r.error and "k1" not in r.error and "redacted" in r.error, r.error
