"""Issue 9, item 2: no user-supplied URL renders as a script link, security headers on every
answer, and pages do not reflect `?error=` from the query string. Through the real app."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select, update

from tests.factories.auth import make_persona
from tests.factories.catalog import make_service
from watchkeeper.alerting.models import Alert
from watchkeeper.monitoring.models import Monitor

EVIL = "javascript:alert(document.cookie)"
HREF = re.compile(r'href="([^"]*)"')


@pytest.fixture
def ingest_headers(session):
    bot = make_persona(session, "am-bot", ["responder"], scopes=["ingest"])
    session.commit()
    return bot.headers


def _alertmanager(url: str, name: str = "Evil") -> dict:
    return {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": name, "service": "s"},
            "annotations": {}, "startsAt": "2026-03-02T09:00:00Z", "generatorURL": url}]}


def _grafana(url: str, name: str = "Evil") -> dict:
    return {"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": name, "service": "s"},
            "annotations": {}, "startsAt": "2026-03-02T09:00:00Z", "generatorURL": url}]}


def _generic(url: str, name: str = "Evil") -> dict:
    return {"alerts": [{"labels": {"alertname": name, "service": "s"}, "generatorURL": url}]}


@pytest.mark.parametrize("path,body", [("/api/v1/integrations/alertmanager", _alertmanager),
                                       ("/api/v1/integrations/grafana", _grafana), ("/api/v1/alerts", _generic)])
def test_an_unsafe_generator_url_is_dropped_at_ingest_with_a_logged_reason(client, session, ingest_headers, caplog, path, body):
    with caplog.at_level(logging.WARNING, logger="watchkeeper.alerting.ingest"):
        r = client.post(path, json=body(EVIL), headers=ingest_headers)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1  # the alert is kept, only its link is not
    row = session.execute(select(Alert)).scalar_one()
    assert row.generator_url is None
    assert any("dropped the generatorURL of alert 'Evil'" in m and "javascript" in m for m in caplog.messages)
    # A safe one is kept as sent.
    good = "https://prometheus.example.com/graph?g0.expr=up"
    assert client.post(path, json=body(good, "Fine"), headers=ingest_headers).status_code == 200
    session.expire_all()
    assert session.execute(select(Alert.generator_url).where(Alert.alertname == "Fine")).scalar_one() == good


@pytest.mark.parametrize("url", [EVIL, "data:text/html,x", "java\tscript:alert(1)"])
def test_a_runbook_url_that_is_not_http_is_refused_in_one_line(client, session, personas, url):
    make_service(session, name="checkout", team="payments")
    session.commit()
    alice = personas["alice"].headers
    body = {"name": "home", "service": "checkout", "http": {"url": "https://checkout.test/"}, "runbook_url": url}
    r = client.post("/api/v1/monitors", headers=alice, json=body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == "runbook_url" and "http(s)" in error["message"] and "\n" not in error["message"]
    body["runbook_url"] = "https://wiki.example.com/runbooks/home"
    assert client.post("/api/v1/monitors", headers=alice, json=body).status_code == 201
    r = client.patch("/api/v1/monitors/home", headers=alice, json={"runbook_url": url})
    assert r.status_code == 422 and r.json()["error"]["field"] == "runbook_url"


def test_a_runbook_url_in_the_config_file_is_refused_with_its_location():
    from watchkeeper.configfile import loader

    text = ("services:\n  - name: shop\n    team: web\nteams:\n  - name: web\nmonitors:\n  - name: home\n    service: shop\n"
            "    runbook_url: javascript:alert(1)\n    http:\n      url: https://shop.example.com/\n")
    with pytest.raises(loader.ConfigInvalid) as err:
        loader.load_text(text, file="wk.yaml")
    message = str(err.value)
    assert message.startswith("wk.yaml:9:") and "runbook_url" in message and "http(s)" in message and "\n" not in message


def _login(client, persona) -> None:
    r = client.post("/login", data={"username": persona.username, "password": persona.password}, follow_redirects=False)
    assert r.status_code == 303


def test_values_stored_before_validation_never_render_as_script_links(client, session, personas, ingest_headers):
    make_service(session, name="checkout", team="payments")
    session.commit()
    assert client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "Legacy", "service": "checkout"},
                       "annotations": {"runbook_url": "https://ok.example.com/rb"}}]}, headers=ingest_headers).status_code == 200
    assert client.post("/api/v1/monitors", headers=personas["root"].headers,
                       json={"name": "legacy", "service": "checkout", "http": {"url": "https://checkout.test/"}}).status_code == 201
    # As an older version (or a hand edit) could have stored them:
    session.execute(update(Alert).values(generator_url=EVIL, annotations={"runbook_url": "http" + EVIL}))
    session.execute(update(Monitor).where(Monitor.name == "legacy").values(runbook_url="JAVASCRIPT:alert(1)"))
    session.commit()
    alert_id = session.execute(select(Alert.id)).scalar_one()
    _login(client, personas["root"])
    for path in (f"/alerts/{alert_id}", "/monitors/legacy"):
        page = client.get(path)
        assert page.status_code == 200
        hrefs = HREF.findall(page.text)
        assert hrefs and not [h for h in hrefs if "script" in h.lower()], (path, hrefs)
    assert 'href="#">Source</a>' in client.get(f"/alerts/{alert_id}").text


def test_pages_do_not_reflect_error_text_from_the_query_string(client, session, personas, ingest_headers):
    make_service(session, name="checkout", team="payments")
    session.commit()
    client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "A", "service": "checkout"}}]}, headers=ingest_headers)
    client.post("/api/v1/monitors", headers=personas["root"].headers,
                json={"name": "home", "service": "checkout", "http": {"url": "https://checkout.test/"}})
    alert_id = session.execute(select(Alert.id)).scalar_one()
    _login(client, personas["root"])
    bait = "Your session expired: call 555-0100 to restore access"
    for path in ("/services/checkout", f"/alerts/{alert_id}", "/monitors/home", "/silences", "/maintenance", "/alerts/drills"):
        page = client.get(path, params={"error": bait})
        assert page.status_code == 200, path
        assert "555-0100" not in page.text, path
        assert 'class="flash error"' not in page.text, path
    # The refused form still shows its own one-line reason.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/silences").text).group(1)
    r = client.post("/silences", data={"csrf_token": csrf, "matchers": "alertname=A", "duration": "banana", "comment": "x"})
    assert 'class="flash error"' in r.text


STRICT = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
          "base-uri 'none'", "form-action 'self'"}


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/services", "/static/watchkeeper.js", "/no-such-page"])
def test_every_answer_carries_the_security_headers(client, path):
    r = client.get(path, follow_redirects=False)
    csp = {part.strip() for part in r.headers["content-security-policy"].split(";")}
    assert STRICT <= csp
    assert not any("unsafe" in part for part in csp)
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_a_refused_oversized_body_carries_them_too(client):
    r = client.post("/api/v1/alerts", content=b"x" * (6 * 1024 * 1024), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["x-frame-options"] == "DENY"


def test_the_api_docs_pages_get_their_own_policy_but_still_no_framing(client):
    r = client.get("/docs")
    # Inline style for Swagger UI's run-time style elements; still no other origin, no inline script.
    assert "style-src 'self' 'unsafe-inline'" in r.headers["content-security-policy"]
    assert "script-src 'self';" in r.headers["content-security-policy"]
    assert "http" not in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"] and r.headers["x-frame-options"] == "DENY"


def test_templates_carry_no_inline_script_style_or_event_handlers():
    from pathlib import Path

    import watchkeeper.web

    root = Path(watchkeeper.web.__file__).parent / "templates"
    found = []
    for path in root.rglob("*.html"):
        text = path.read_text()
        found += [f"{path.name}: inline <script>" for _ in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text)]
        found += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"\s(on[a-z]+|style)=\"", text)]
        found += [f"{path.name}: javascript: URL" for _ in re.finditer(r"javascript:", text, re.I)]
    assert found == []
