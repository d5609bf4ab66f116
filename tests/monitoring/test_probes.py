"""Every probe kind against real local targets, passing and failing."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.monitoring.servers import HttpTarget, dns_server, free_port, tcp_listener, tls_server
from watchkeeper.monitoring.probes.kinds import HttpClients, ProbeContext, ProbeResult, parse_spec
from watchkeeper.monitoring.probes.kinds import run as run_probe


def probe(kind: str, *, timeout: float = 3.0, location: str = "test", **spec) -> ProbeResult:
    async def go():
        clients = HttpClients()
        try:
            return await run_probe(parse_spec(kind, spec), ProbeContext("m", location, timeout, clients))
        finally:
            await clients.aclose()
    return asyncio.run(go())


@pytest.fixture(scope="module")
def web():
    with HttpTarget() as target:
        yield target


# ---------------------------------------------------------------- http


def test_http_up_with_every_assertion_holding(web):
    r = probe("http", url=f"{web.url}/ok", expect_status=[200], body_contains='"ok"', body_regex=r'"queue":\s*\d+',
              json=[{"path": "$.status", "value": "ok"}, {"path": "$.queue", "op": ">=", "value": 1},
                    {"path": "$.checks.db", "op": "exists"}], max_latency="2s")
    assert r.ok and r.error is None
    assert r.latency_ms is not None and 0 < r.latency_ms < 2000
    assert r.details["status_code"] == 200


def test_http_wrong_status_names_expected_and_actual(web):
    r = probe("http", url=f"{web.url}/status/503")
    assert not r.ok
    assert r.error == "expected status 2xx, 3xx, got 503 Service Unavailable"


def test_http_status_ranges_and_exact_codes(web):
    assert probe("http", url=f"{web.url}/status/404", expect_status=["400-404"]).ok
    assert probe("http", url=f"{web.url}/status/418", expect_status=[418]).ok
    assert not probe("http", url=f"{web.url}/status/405", expect_status=["400-404"]).ok


def test_http_failing_body_assertions_are_named(web):
    assert probe("http", url=f"{web.url}/text", body_contains="goodbye").error == "body does not contain 'goodbye'"
    assert probe("http", url=f"{web.url}/text", body_regex=r"^bye").error == "body does not match /^bye/"
    r = probe("http", url=f"{web.url}/ok", json=[{"path": "$.status", "value": "green"}])
    assert r.error == "$.status is 'ok', expected == 'green'"
    r = probe("http", url=f"{web.url}/ok", json=[{"path": "$.missing.key", "value": 1}])
    assert r.error == "$.missing.key is missing from the response"
    r = probe("http", url=f"{web.url}/text", json=[{"path": "$.status", "value": "ok"}])
    assert r.error.startswith("body is not JSON")


def test_http_latency_threshold_fails_a_slow_answer(web):
    r = probe("http", url=f"{web.url}/slow/0.3", max_latency="100ms")
    assert not r.ok
    assert r.error.startswith("response took ") and r.error.endswith("limit 100 ms")


def test_http_timeout_is_reported(web):
    r = probe("http", url=f"{web.url}/slow/2", timeout=0.3)
    assert not r.ok
    assert r.error == "timed out after 0.3s"


def test_http_connection_refused_says_so():
    port = free_port()
    r = probe("http", url=f"http://127.0.0.1:{port}/")
    assert not r.ok
    assert r.error.startswith("connection failed:")
    assert "refused" in r.error.lower()


def test_http_redirects_followed_or_not(web):
    followed = probe("http", url=f"{web.url}/redirect", expect_status=[200])
    assert followed.ok and followed.details["redirects"] == 1
    kept = probe("http", url=f"{web.url}/redirect", expect_status=[200], follow_redirects=False)
    assert not kept.ok and "got 302" in kept.error


def test_http_sends_method_body_headers_and_location(web):
    r = probe("http", url=f"{web.url}/echo", method="POST", body="ping!", json=[{"path": "$.echo", "value": "ping!"}],
              location="eu-west")
    assert r.ok, r.error
    probe("http", url=f"{web.url}/ok", location="eu-west")
    assert web.locations[-1] == "eu-west"


def test_https_self_signed_fails_verification_unless_turned_off(tmp_path):
    with tls_server(tmp_path, days=90) as port:
        strict = probe("http", url=f"https://127.0.0.1:{port}/")
        assert not strict.ok and "certificate" in strict.error.lower()
        relaxed = probe("http", url=f"https://127.0.0.1:{port}/", verify_tls=False)
        assert relaxed.ok, relaxed.error


# ---------------------------------------------------------------- tcp


def test_tcp_connects_and_checks_the_banner():
    with tcp_listener(b"220 smtp ready\r\n") as port:
        assert probe("tcp", host="127.0.0.1", port=port).ok
        assert probe("tcp", host="127.0.0.1", port=port, expect="220").ok
        r = probe("tcp", host="127.0.0.1", port=port, expect="SSH-2.0")
        assert not r.ok and r.error.startswith("reply does not contain 'SSH-2.0'")
        echo = probe("tcp", host="127.0.0.1", port=port, send="hello\n", expect="220")
        assert echo.ok


def test_tcp_refused_names_host_and_port():
    port = free_port()
    r = probe("tcp", host="127.0.0.1", port=port)
    assert not r.ok and r.error.startswith(f"connection to 127.0.0.1:{port} failed")


# ---------------------------------------------------------------- dns

ZONE = {
    ("shop.example.test", "A"): ["10.0.0.5", "10.0.0.6"],
    ("shop.example.test", "MX"): ["10 mail.example.test."],
    ("shop.example.test", "TXT"): ['"v=spf1 -all"'],
    ("alias.example.test", "CNAME"): ["shop.example.test."],
}


def test_dns_answers_match_expectations():
    with dns_server(ZONE) as port:
        resolver = f"127.0.0.1:{port}"
        r = probe("dns", name="shop.example.test", resolver=resolver, expect=["10.0.0.5"])
        assert r.ok and r.details["answers"] == ["10.0.0.5", "10.0.0.6"]
        assert probe("dns", name="shop.example.test", record_type="MX", resolver=resolver, expect=["10 mail.example.test"]).ok
        assert probe("dns", name="shop.example.test", record_type="TXT", resolver=resolver, expect=["v=spf1 -all"]).ok
        assert probe("dns", name="alias.example.test", record_type="CNAME", resolver=resolver, expect=["shop.example.test."]).ok
        assert probe("dns", name="shop.example.test", resolver=resolver, protocol="tcp", expect=["10.0.0.6"]).ok


def test_dns_failures_are_specific():
    with dns_server(ZONE) as port:
        resolver = f"127.0.0.1:{port}"
        wrong = probe("dns", name="shop.example.test", resolver=resolver, expect=["10.9.9.9"])
        assert wrong.error == "A shop.example.test: expected 10.9.9.9, got 10.0.0.5, 10.0.0.6"
        extra = probe("dns", name="shop.example.test", resolver=resolver, expect=["10.0.0.5"], exact=True)
        assert extra.error == "A shop.example.test: unexpected answers 10.0.0.6"
        missing = probe("dns", name="nope.example.test", resolver=resolver)
        assert missing.error == "nope.example.test does not exist (NXDOMAIN)"
        no_aaaa = probe("dns", name="shop.example.test", record_type="AAAA", resolver=resolver)
        assert no_aaaa.error == "shop.example.test has no AAAA records"


def test_dns_silent_server_times_out():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # bound, never answers
        sink.bind(("127.0.0.1", 0))
        r = probe("dns", name="shop.example.test", resolver=f"127.0.0.1:{sink.getsockname()[1]}", timeout=0.5)
    assert not r.ok and "timed out" in r.error


# ---------------------------------------------------------------- tls


def test_tls_certificate_far_from_expiry_is_up(tmp_path):
    with tls_server(tmp_path, days=90) as port:
        r = probe("tls", host="127.0.0.1", port=port, verify=False)
    assert r.ok and r.warning is None
    assert 89 < r.details["days_left"] <= 90


def test_tls_certificate_near_expiry_warns_then_fails(tmp_path):
    with tls_server(tmp_path, days=10) as port:
        warn = probe("tls", host="127.0.0.1", port=port, verify=False, warn_days=21, fail_days=7)
        fail = probe("tls", host="127.0.0.1", port=port, verify=False, warn_days=30, fail_days=14)
    assert warn.ok and warn.warning.startswith("certificate of 127.0.0.1 expires in 10.0 days")
    assert "(warn below 21)" in warn.warning
    assert not fail.ok and "(fail below 14); renew it" in fail.error


def test_tls_expired_and_untrusted_certificates_fail(tmp_path):
    with tls_server(tmp_path, days=-2) as port:
        expired = probe("tls", host="127.0.0.1", port=port, verify=False)
        strict = probe("tls", host="127.0.0.1", port=port, verify=True)
    assert not expired.ok and expired.error.startswith("certificate of 127.0.0.1 expired on ")
    assert not strict.ok and strict.error.startswith("certificate of 127.0.0.1 is not trusted")


def test_tls_nothing_listening():
    r = probe("tls", host="127.0.0.1", port=free_port())
    assert not r.ok and r.error.startswith("TLS connection to 127.0.0.1:")


# ---------------------------------------------------------------- command


def test_command_exit_zero_is_up_and_output_captured():
    r = probe("command", command=[sys.executable, "-c", "print('backup ok')"], output_contains="ok")
    assert r.ok and r.details["output"].strip() == "backup ok" and r.details["exit_status"] == 0


def test_command_failure_reports_status_and_last_line():
    r = probe("command", command=f"{sys.executable} -c \"import sys; print('step 1'); print('disk full'); sys.exit(3)\"")
    assert not r.ok
    assert r.error == "exit status 3 (expected 0): disk full"
    assert probe("command", command=[sys.executable, "-c", "import sys; sys.exit(3)"], expect_exit=[0, 3]).ok


def test_command_timeout_kills_it():
    r = probe("command", command=[sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert not r.ok and "timed out after 0.5s" in r.error


def test_command_missing_program_and_output_assertion():
    missing = probe("command", command=["/nonexistent/tool"])
    assert not missing.ok and missing.error.startswith("cannot start '/nonexistent/tool'")
    r = probe("command", command=[sys.executable, "-c", "print('nothing')"], output_contains="ready")
    assert r.error == "output does not contain 'ready'"


# ---------------------------------------------------------------- scrape


def test_scrape_parses_exposition_into_samples(web):
    r = probe("scrape", url=f"{web.url}/metrics", labels={"env": "test"})
    assert r.ok
    samples = {(n, lbl["region"]): v for n, lbl, v in r.samples}
    assert samples == {("orders_total", "eu"): 42.0, ("orders_total", "us"): 7.0}
    assert all(lbl["job"] == "m" and lbl["env"] == "test" and lbl["instance"] == f"127.0.0.1:{web.port}" for _, lbl, _ in r.samples)


def test_scrape_of_garbage_fails_with_the_reason(web):
    r = probe("scrape", url=f"{web.url}/garbage-metrics")
    assert not r.ok and r.error.startswith(f"{web.url}/garbage-metrics is not Prometheus text format")
    assert probe("scrape", url=f"{web.url}/status/500").error == f"scrape of {web.url}/status/500 got status 500"


def test_http_body_regex_is_re2_so_a_hostile_body_cannot_stall_the_probe_threads():
    """Issue 9, item 4: body_regex ran on Python's re. A team's monitor with `(a+)+$` against
    an endpoint answering 'aaaa…!' (up to 1 MiB) would hold a probe thread for ever."""
    import time

    import httpx

    from watchkeeper.monitoring.probes.kinds.http import HttpSpec, assertions

    spec = parse_spec("http", {"url": "http://127.0.0.1/", "body_regex": "(a+)+$"})
    body = b"a" * (1024 * 1024 - 1) + b"!"
    started = time.perf_counter()
    assert assertions(spec, httpx.Response(200, content=body), body, 1.0) == "body does not match /(a+)+$/"
    assert time.perf_counter() - started < 0.5  # Python's re: seconds at 30 characters, doubling per character
    with pytest.raises(ValueError, match=r"body_regex .* is invalid: invalid perl operator"):
        parse_spec("http", {"url": "http://127.0.0.1/", "body_regex": "ok(?=!)"})
    old = HttpSpec.model_construct(url="http://127.0.0.1/", expect_status=["2xx"], body_contains=None, body_regex="ok(?=!)",
                                   json_assertions=[])
    assert "invalid perl operator" in assertions(old, httpx.Response(200, content=b"ok!"), b"ok!", 1.0)
