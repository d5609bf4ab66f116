"""The built-in security audit against real local HTTP/HTTPS servers with certificates made
here: TLS version, certificate trust and expiry, HSTS and security headers, server version
leaks, cookie flags."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from watchkeeper import clock
from watchkeeper.assessments import service as assessments
from watchkeeper.assessments import webcheck
from watchkeeper.assessments._suites import security_outcomes
from watchkeeper.cli.main import app as cli_app
from watchkeeper.errors import InvalidInput
from tests.assessments.servers import HARDENED, make_certs, serve
from tests.factories.catalog import make_service
from tests.factories.auth import SYSTEM


def _outcomes(url, **kw):
    facts = webcheck.gather(url, timeout=5, **kw)
    return {k: (v[0].value, v[1]) for k, v in security_outcomes(facts, clock.utcnow()).items()}


def test_self_signed_https_with_missing_headers_reports_each_finding(tmp_path):
    certs = make_certs(tmp_path, self_signed=True)
    with serve(headers=[("Set-Cookie", "sid=1; Path=/")], certs=certs, server_header=None) as url:
        out = _outcomes(url)
    assert out["tls_valid"][0] == "fail" and "not trusted" in out["tls_valid"][1] and "self-signed" in out["tls_valid"][1]
    assert out["tls_version"] == ("pass", "TLSv1.3 negotiated")
    assert out["tls_expiry"][0] == "pass"
    assert out["hsts"][0] == "fail" and "Strict-Transport-Security header missing" in out["hsts"][1]
    assert out["security_headers"][0] == "fail"
    for header in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert header in out["security_headers"][1]
    assert out["server_version_hidden"][0] == "fail" and "Python/" in out["server_version_hidden"][1]
    assert out["cookies_secure"] == ("fail", "cookies sid lacks Secure and HttpOnly; set both attributes")
    assert out["content_security_policy"][0] == "fail"


def test_a_hardened_server_with_a_trusted_certificate_passes_every_check(tmp_path):
    certs = make_certs(tmp_path)
    with serve(headers=HARDENED, certs=certs) as url:
        out = _outcomes(url, ca_file=certs["ca"])
    assert {k: v[0] for k, v in out.items()} == {k: "pass" for k in out}, out
    assert "trusted certificate for 127.0.0.1" in out["tls_valid"][1]


@pytest.mark.parametrize("days, status", [(5, "fail"), (20, "warn"), (60, "pass")])
def test_certificate_expiry_fails_inside_14_days_and_warns_inside_30(tmp_path, days, status):
    certs = make_certs(tmp_path, days=days)
    with serve(headers=HARDENED, certs=certs) as url:
        out = _outcomes(url, ca_file=certs["ca"])
    assert out["tls_expiry"][0] == status
    assert out["tls_valid"][0] == "pass"


def test_plain_http_fails_tls_and_hsts_and_an_unreachable_url_names_the_error(tmp_path):
    with serve(headers=HARDENED) as url:
        out = _outcomes(url)
    assert out["tls_valid"][0] == "fail" and "plain HTTP" in out["tls_valid"][1]
    assert out["hsts"][0] == "fail" and "needs HTTPS" in out["hsts"][1]
    assert out["security_headers"][0] == "pass"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _outcomes(f"https://127.0.0.1:{port}/")
    assert all(v[0] == "fail" for v in out.values())
    assert "ConnectionRefusedError" in out["tls_valid"][1]


def test_a_run_stores_failed_checks_as_findings_with_their_severity(session, system_actor, tmp_path):
    certs = make_certs(tmp_path, self_signed=True)
    with serve(headers=[], certs=certs, server_header=None) as url:
        make_service(session, name="shop", public_url=url)
        run = assessments.run_builtin(session, service="shop", suite="security", actor=system_actor)
    severities = {f.rule: f.severity.value for f in run.findings}
    assert severities["tls_valid"] == "critical" and severities["hsts"] == "medium" and severities["server_version_hidden"] == "low"
    assert "tls_version" not in severities
    status = next(s for s in assessments.service_audits(session, actor=SYSTEM, service="shop").suites if s.suite.value == "security")
    assert status.passed_level is None
    assert "Certificate trusted and in date" in status.levels[0].problems[0]


def test_services_without_a_public_url_and_suites_without_built_ins_say_what_to_do(session, system_actor):
    make_service(session, name="svc")
    with pytest.raises(InvalidInput, match="no public_url"):
        assessments.run_builtin(session, service="svc", suite="security", actor=system_actor)
    with pytest.raises(InvalidInput, match="accessibility suite has no built-in checks; post results from Lighthouse"):
        assessments.run_builtin(session, service="svc", suite="accessibility", actor=system_actor)
    with pytest.raises(InvalidInput, match="unknown audit suite 'safety'"):
        assessments.run_builtin(session, service="svc", suite="safety", actor=system_actor)


def test_audit_run_cli_reports_findings_beside_the_audit_log_commands(fresh_url, tmp_path):
    from watchkeeper.app import build, prepare_database
    from watchkeeper.config import Settings
    from tests.factories.catalog import make_service as mk

    runner = CliRunner()
    container = build(Settings(database_url=fresh_url, data_dir=tmp_path / "data"))
    prepare_database(container)
    certs = make_certs(tmp_path, self_signed=True)
    try:
        with serve(headers=[], certs=certs) as url:
            with container.session() as s:
                mk(s, name="shop", public_url=url)
                s.commit()
            result = runner.invoke(cli_app, ["--database-url", fresh_url, "audit", "run", "shop", "--suite", "security"])
        assert result.exit_code == 1
        assert "tls_valid" in result.output and "FAIL" in result.output and "not trusted" in result.output
        status = runner.invoke(cli_app, ["--database-url", fresh_url, "audit", "status", "shop"])
        assert status.exit_code == 0 and "critical" in status.output
        helptext = runner.invoke(cli_app, ["audit", "--help"]).output
        for verb in ("verify", "export", "checkpoint", "log", "run", "status", "post", "resolve"):
            assert verb in helptext
    finally:
        container.dispose()
