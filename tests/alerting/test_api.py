"""The ingest routes and the alert API through the real ASGI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories.auth import make_persona
from tests.factories.catalog import make_service
from watchkeeper.alerting.models import Alert

SAMPLES = Path(__file__).resolve().parents[2] / "src/watchkeeper/alerting/sources"


def _sample(kind: str, name: str) -> dict:
    return json.loads((SAMPLES / kind / "samples" / name).read_text())


@pytest.fixture
def ingest_token(session):
    """An integration token: a bot user whose token has only the `ingest` scope."""
    bot = make_persona(session, "prometheus-bot", ["responder"], scopes=["ingest"])
    session.commit()
    return {"Authorization": f"Bearer {bot.token}"}


def test_alertmanager_webhook_firing_then_resolved(client, ingest_token, session):
    r = client.post("/api/v1/integrations/alertmanager", json=_sample("alertmanager", "firing.json"), headers=ingest_token)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    again = client.post("/api/v1/integrations/alertmanager", json=_sample("alertmanager", "firing.json"), headers=ingest_token)
    assert again.json()["created"] == 0 and again.json()["updated"] == 2
    done = client.post("/api/v1/integrations/alertmanager", json=_sample("alertmanager", "resolved.json"), headers=ingest_token)
    assert done.json()["resolved"] == 1
    rows = session.execute(select(Alert).order_by(Alert.id)).scalars().all()
    assert [(r.status, r.source, r.labels["instance"]) for r in rows] == [("resolved", "alertmanager", "checkout-1:8080"),
                                                                          ("firing", "alertmanager", "checkout-2:8080")]
    assert rows[0].annotations["runbook_url"].startswith("https://runbooks.example.com")


def test_grafana_webhook_keeps_dashboard_links_as_annotations(client, ingest_token, session):
    r = client.post("/api/v1/integrations/grafana", json=_sample("grafana", "firing.json"), headers=ingest_token)
    assert r.status_code == 200 and r.json()["created"] == 1
    row = session.execute(select(Alert)).scalar_one()
    assert row.source == "grafana" and row.annotations["dashboard_url"].startswith("https://grafana.example.com/d/")
    assert row.service == "db" and row.severity == "warning"


def test_generic_batch_and_bare_list(client, ingest_token):
    r = client.post("/api/v1/alerts", json=_sample("generic", "batch.json"), headers=ingest_token)
    assert r.status_code == 200 and r.json()["created"] == 2
    bare = client.post("/api/v1/alerts", json=[{"labels": {"alertname": "X", "service": "s"}, "startsAt": "2026-03-02T09:00:00Z"}],
                       headers=ingest_token)
    assert bare.status_code == 200 and bare.json()["created"] == 1


@pytest.mark.parametrize("path,body,field,text", [
    ("/api/v1/alerts", {"alerts": [{"labels": {"service": "x"}}]}, "alerts[0].labels", "alertname"),
    ("/api/v1/alerts", {"alerts": [{"labels": {"alertname": "X", "bad-name": "1"}}]}, "alerts[0].labels", "label name 'bad-name'"),
    ("/api/v1/alerts", {"alerts": [{"labels": {"alertname": "X"}, "startsAt": "2026-03-02T09:00:00"}]}, "alerts[0].startsAt", "time zone"),
    ("/api/v1/alerts", {"alerts": [{"labels": {"alertname": "X"}, "colour": "red"}]}, "alerts[0].colour", "unknown field"),
    ("/api/v1/integrations/alertmanager", {"version": "3", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "X"},
                                           "startsAt": "2026-03-02T09:00:00Z"}]}, "version", "version \"4\""),
    ("/api/v1/integrations/alertmanager", {"version": "4", "status": "firing", "alerts": [{"status": "burning", "labels": {"alertname": "X"},
                                           "startsAt": "2026-03-02T09:00:00Z"}]}, "alerts[0].status", "firing"),
    ("/api/v1/integrations/grafana", {"status": "firing", "alerts": []}, "alerts", "at least 1"),
])
def test_a_malformed_payload_gets_a_422_naming_the_field(client, ingest_token, path, body, field, text):
    r = client.post(path, json=body, headers=ingest_token)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field and text in err["message"] and err["code"] == "alert.invalid_payload"


def test_invalid_json_and_oversized_bodies_are_refused(client, ingest_token):
    r = client.post("/api/v1/alerts", content=b"{not json", headers={**ingest_token, "content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]["message"]
    big = json.dumps({"alerts": [{"labels": {"alertname": "X", "pad": "x" * 1000, "i": str(i)}} for i in range(2200)]})
    r = client.post("/api/v1/alerts", content=big.encode(), headers={**ingest_token, "content-type": "application/json"})
    assert r.status_code == 413 and "MiB" in r.json()["error"]["message"]


def test_ingest_needs_a_token_and_an_ingest_token_can_do_nothing_else(client, ingest_token):
    assert client.post("/api/v1/integrations/alertmanager", json=_sample("alertmanager", "firing.json")).status_code == 401
    assert client.get("/api/v1/alerts", headers=ingest_token).status_code == 403
    assert client.post("/api/v1/silences", json={"matchers": ['a="b"'], "duration": "1h", "comment": "nope"},
                       headers=ingest_token).status_code == 403


def test_a_team_scoped_token_may_ingest_only_its_services(client, personas, session):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="search-api", team="search")
    session.commit()
    h = personas["bob"].headers
    ok = client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "X", "service": "checkout"}}]}, headers=h)
    assert ok.status_code == 200
    no = client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "X", "service": "search-api"}}]}, headers=h)
    assert no.status_code == 403 and "search-api" in no.json()["error"]["message"]


def test_ack_resolve_mark_and_history_over_the_api(client, personas, session):
    make_service(session, name="checkout", team="payments")
    session.commit()
    h = personas["bob"].headers
    client.post("/api/v1/alerts", json={"alerts": [{"labels": {"alertname": "X", "service": "checkout"}}]}, headers=h)
    alert_id = client.get("/api/v1/alerts?status=firing", headers=h).json()[0]["id"]
    assert client.post(f"/api/v1/alerts/{alert_id}/ack", json={"note": "on it"}, headers=h).json()[0]["acked_by"] == "bob"
    assert client.post(f"/api/v1/alerts/{alert_id}/mark", json={"quality": "noise"}, headers=h).json()[0]["quality"] == "noise"
    assert client.post(f"/api/v1/alerts/{alert_id}/resolve", json={}, headers=h).json()[0]["status"] == "resolved"
    kinds = [e["kind"] for e in client.get(f"/api/v1/alerts/{alert_id}/history", headers=h).json()]
    assert kinds == ["fired", "acked", "marked_noise", "resolved"]
    outsider = client.post(f"/api/v1/alerts/{alert_id}/ack", json={}, headers=personas["carol"].headers)
    assert outsider.status_code == 403
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=personas["carol"].headers).status_code == 403
    assert client.get("/api/v1/alerts/999999", headers=h).status_code == 404


def test_silence_lifecycle_and_route_explain_over_the_api(client, personas):
    h = personas["root"].headers
    r = client.post("/api/v1/silences", json={"matchers": ['service="checkout"'], "duration": "2h", "comment": "migration"}, headers=h)
    assert r.status_code == 201 and r.json()["state"] == "active"
    bad = client.post("/api/v1/silences", json={"matchers": ['service=="x'], "duration": "2h", "comment": "typo"}, headers=h)
    assert bad.status_code == 422 and "matchers" in bad.json()["error"]["field"]
    sid = r.json()["id"]
    assert client.post(f"/api/v1/silences/{sid}/expire", headers=h).json()["state"] == "expired"
    assert client.post(f"/api/v1/silences/{sid}/expire", headers=h).status_code == 409
    explained = client.get("/api/v1/alert-routing/explain", params={"labels": "service=checkout,severity=critical"}, headers=h).json()
    assert explained["routes"][0]["route"] == "root" and explained["labels"]["alertname"] == "Example"
    assert client.get("/api/v1/alert-routing/explain", params={"labels": "no-equals"}, headers=h).status_code == 422
