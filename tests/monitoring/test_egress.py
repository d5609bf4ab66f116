"""The egress policy (issue 9 item 9, SSRF): what the server may connect to when it fetches a
URL or host a user named. Checked at connect time on the resolved address (a rebinding name is
caught), on every redirect, for every probe kind that connects, webhooks, rule Prometheus
URLs and web checks; one-line errors."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pydantic
import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.monitoring.servers import HttpTarget, tcp_listener, tls_server
from watchkeeper import clock, egress
from watchkeeper.app import build, prepare_database
from watchkeeper.auth.service import Actor
from watchkeeper.config import Settings
from watchkeeper.monitoring.metrics.rules import prometheus_query
from watchkeeper.monitoring.models import Check, Location, Monitor
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.probes.kinds import HttpClients, ProbeContext, ProbeResult, parse_spec
from watchkeeper.monitoring.probes.kinds import run as run_probe
from watchkeeper.monitoring.probes.runner import ProbeRunner
from watchkeeper.monitoring.probes.schemas import MonitorCreate
from watchkeeper.notify.channels import DeliveryError
from watchkeeper.notify.channels.webhook import Webhook
from watchkeeper.notify.schemas import Message, WebhookChannel

SYSTEM = Actor.system("test", "system")
STRICT = egress.Egress.of("link-local,metadata,loopback,private")
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


def probe(kind: str, *, policy: egress.Egress = egress.DEFAULT, timeout: float = 3.0, **spec) -> ProbeResult:
    async def go():
        clients = HttpClients(policy)
        try:
            return await run_probe(parse_spec(kind, spec), ProbeContext("m", "test", timeout, clients))
        finally:
            await clients.aclose()
    return asyncio.run(go())


@pytest.fixture(scope="module")
def web():
    with HttpTarget() as target:
        yield target


@pytest.fixture
def redirector():
    """A server whose every answer is a 302 to the URL in `target['to']`."""
    target = {"to": "http://127.0.0.1:9/"}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", target["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    yield target
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- the policy itself


@given(st.ip_addresses(network="169.254.0.0/16") | st.ip_addresses(network="fe80::/10"))
@hsettings(max_examples=200)
def test_default_policy_refuses_every_link_local_address_in_every_spelling(ip):
    assert egress.DEFAULT.refusal(str(ip)) is not None
    if ip.version == 4:  # the IPv4-mapped and NAT64 spellings of the same address
        assert egress.DEFAULT.refusal(f"::ffff:{ip}") is not None
        assert egress.DEFAULT.refusal(str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip)))) is not None


@given(st.ip_addresses(network="127.0.0.0/8") | st.ip_addresses(network="10.0.0.0/8") | st.ip_addresses(network="8.0.0.0/8"))
def test_default_policy_allows_loopback_private_and_public(ip):
    assert egress.DEFAULT.refusal(str(ip)) is None


def test_metadata_addresses_and_the_most_specific_range_wins():
    assert "metadata" in egress.DEFAULT.refusal("fd00:ec2::254")
    assert "metadata" in egress.DEFAULT.refusal("169.254.169.254")
    # allowing link-local does not re-open the metadata address (a /32 beats a /16) …
    relaxed = egress.Egress.of("link-local,metadata", "169.254.0.0/16")
    assert relaxed.refusal("169.254.10.1") is None and relaxed.refusal("169.254.169.254") is not None
    # … and an exception as specific as the deny range wins the tie
    assert egress.Egress.of("private", "10.0.0.0/8").refusal("10.1.2.3") is None
    assert egress.Egress.of("loopback", "127.0.0.1").refusal("127.0.0.1") is None
    assert egress.Egress.of("loopback", "127.0.0.1").refusal("127.0.0.2") is not None
    assert STRICT.refusal("0.0.0.0") is not None and STRICT.refusal("::") is not None  # both reach this host


@pytest.mark.parametrize("field", ["egress_deny", "egress_allow"])
def test_a_bad_range_in_settings_is_one_line_naming_the_variable(field):
    with pytest.raises(pydantic.ValidationError) as info:
        Settings(**{field: "link-local, 10.0.0.0/33"})
    message = info.value.errors()[0]["msg"]
    assert f"WATCHKEEPER_{field.upper()}" in message and "'10.0.0.0/33'" in message and "\n" not in message


# ---------------------------------------------------------------- probes


def test_http_probe_to_the_metadata_address_is_refused_before_connecting():
    start = time.perf_counter()
    r = probe("http", url=METADATA)
    assert not r.ok and (time.perf_counter() - start) < 1.0
    assert r.error == ("connection failed: 169.254.169.254 is refused by the egress policy "
                       "(in 169.254.169.254/32, metadata); an admin may allow it with WATCHKEEPER_EGRESS_ALLOW")
    r = probe("http", url="http://[::ffff:a9fe:a9fe]/latest/")
    assert not r.ok and "refused by the egress policy" in r.error


def test_default_policy_reaches_localhost_and_strict_one_does_not(web):
    assert probe("http", url=f"{web.url}/ok").ok
    hits = web.hits.get("/ok", 0)
    r = probe("http", url=f"{web.url.replace('127.0.0.1', 'localhost')}/ok", policy=STRICT)
    assert not r.ok and r.error.startswith("connection failed: localhost (") and "loopback" in r.error
    assert web.hits.get("/ok", 0) == hits  # nothing reached the target


def test_a_redirect_is_checked_again(redirector, web):
    redirector["to"] = METADATA
    r = probe("http", url=redirector["url"])
    assert not r.ok and "169.254.169.254 is refused by the egress policy" in r.error
    redirector["to"] = f"{web.url}/ok"  # an allowed hop is followed as before
    assert probe("http", url=redirector["url"]).ok
    redirector["to"] = "file:///etc/passwd"  # http(s) only, one line
    r = probe("http", url=redirector["url"])
    assert not r.ok and r.error.startswith("request failed: UnsupportedProtocol") and "\n" not in r.error


def test_a_name_that_rebinds_to_a_refused_address_is_caught_at_connect(web, monkeypatch):
    """The name answers 127.0.0.1 first and 169.254.169.254 next, as a rebinding attacker's DNS
    does. Each connection resolves the name once, is checked, and goes to the checked address."""
    real = socket.getaddrinfo
    answers = ["127.0.0.1", "169.254.169.254"]
    asked = []

    def fake(host, port, *args, **kwargs):
        if host in ("rebind.test", b"rebind.test"):  # anyio passes the IDNA-encoded bytes
            address = answers[min(len(asked), 1)]
            asked.append(address)
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    url = f"http://rebind.test:{web.url.rsplit(':', 1)[1]}/ok"
    assert probe("http", url=url).ok
    r = probe("http", url=url)
    assert not r.ok and r.error.startswith("connection failed: rebind.test (169.254.169.254) is refused")
    assert asked == ["127.0.0.1", "169.254.169.254"]  # no second, unchecked resolution by the client


def test_tcp_tls_prometheus_and_scrape_probes_obey_the_policy(web, tmp_path):
    with tcp_listener() as port:
        assert probe("tcp", host="127.0.0.1", port=port).ok
        r = probe("tcp", host="127.0.0.1", port=port, policy=STRICT)
        assert not r.ok and r.error.startswith(f"connection to 127.0.0.1:{port} failed: 127.0.0.1 is refused")
    with tls_server(tmp_path, days=30) as port:
        assert probe("tls", host="127.0.0.1", port=port, verify=False).ok
        r = probe("tls", host="localhost", port=port, verify=False, policy=STRICT)
        assert not r.ok and "refused by the egress policy" in r.error
    r = probe("tcp", host="169.254.169.254", port=80)
    assert not r.ok and "metadata" in r.error
    r = probe("scrape", url=f"{web.url}/metrics", policy=STRICT)
    assert not r.ok and "refused by the egress policy" in r.error
    r = probe("prometheus", url="http://169.254.169.254:9090", query="up")
    assert not r.ok and "refused by the egress policy" in r.error


# ---------------------------------------------------------------- other fetchers


def test_webhook_to_a_refused_address_fails_for_good_in_one_line():
    channel = WebhookChannel(type="webhook", url=METADATA)
    with pytest.raises(DeliveryError) as info:
        Webhook().send(channel, Message(subject="s", text="t"), key="k", secret=lambda name: None)
    assert info.value.retryable is False
    assert str(info.value).startswith("webhook not sent: 169.254.169.254 is refused by the egress policy")


def test_webhook_obeys_a_stricter_policy(web):
    channel = WebhookChannel(type="webhook", url=f"{web.url}/ok")
    Webhook().send(channel, Message(subject="s", text="t"), key="k", secret=lambda name: None)  # default: fine
    with pytest.raises(DeliveryError, match="refused by the egress policy"):
        Webhook().send(channel, Message(subject="s", text="t"), key="k", secret=lambda name: None, egress=STRICT)


def test_rule_prometheus_and_web_checks_obey_the_policy(web):
    with pytest.raises(RuntimeError, match="169.254.169.254 is refused by the egress policy"):
        prometheus_query("http://169.254.169.254:9090", "up", 2.0)
    from watchkeeper.assessments import webcheck

    facts = webcheck.gather(f"{web.url}/ok", policy=STRICT)
    assert facts.status_code is None and "refused by the egress policy" in facts.http_error
    facts = webcheck.gather("https://169.254.169.254/")
    assert "refused by the egress policy" in facts.connect_error
    assert webcheck.gather(f"{web.url}/ok").status_code == 200


# ---------------------------------------------------------------- through the server, on both stores


@pytest.fixture
def strict_client(container):
    """The same store served by a server whose policy also refuses loopback."""
    import dataclasses

    from fastapi.testclient import TestClient

    from watchkeeper.api.app import create_app

    strict = dataclasses.replace(container, settings=container.settings.model_copy(
        update={"egress_deny": "link-local,metadata,loopback"}))
    with TestClient(create_app(strict), base_url="http://127.0.0.1") as c:
        yield c


def test_check_now_follows_the_servers_policy(session, client, strict_client, personas, web):
    root = personas["root"].headers
    client.post("/api/v1/monitors", headers=root, json={"name": "local", "http": {"url": f"{web.url}/ok"}})
    client.post("/api/v1/monitors", headers=root, json={"name": "meta", "http": {"url": METADATA}})
    assert client.post("/api/v1/monitors/local/check", headers=root).json()["status"] == "up"
    r = client.post("/api/v1/monitors/meta/check", headers=root).json()
    assert r["status"] == "down" and "169.254.169.254 is refused by the egress policy" in r["error"]
    r = strict_client.post("/api/v1/monitors/local/check", headers=root).json()
    assert r["status"] == "down" and "127.0.0.1 is refused by the egress policy (in 127.0.0.0/8, loopback)" in r["error"]


def test_the_probe_runner_follows_the_servers_policy(fresh_url, tmp_path, web):
    container = build(Settings(database_url=fresh_url, data_dir=tmp_path / "data", egress_deny="loopback"))
    try:
        prepare_database(container)
        with container.session() as s:
            monitoring.create_monitor(s, data=MonitorCreate(name="local", interval="1s", timeout="1s", http={"url": f"{web.url}/ok"}),
                                      actor=SYSTEM)
            for loc in s.execute(select(Location)).scalars():
                loc.due_ms = clock.to_ms(clock.utcnow())
            s.commit()
        runner = ProbeRunner(engine=container.engine, session_factory=container.session_factory,
                             settings=container.settings, worker_id="t", tick_seconds=0.1)
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,))
        thread.start()
        try:
            deadline = time.monotonic() + 20
            errors: list[str] = []
            while not errors and time.monotonic() < deadline:
                time.sleep(0.1)
                with container.session() as s:
                    errors = s.execute(select(Check.error).join(Monitor, Monitor.id == Check.monitor_id)).scalars().all()
        finally:
            stop.set()
            thread.join(timeout=20)
        assert errors and "127.0.0.1 is refused by the egress policy" in errors[0]
    finally:
        container.dispose()


def test_httpx_clients_made_by_the_policy_ignore_proxy_settings(monkeypatch):
    """A proxy from the environment would connect on our behalf and make the check moot."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with egress.DEFAULT.client() as c, pytest.raises(httpx.ConnectError, match="egress policy"):
        c.get(METADATA)
