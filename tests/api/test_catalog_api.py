from __future__ import annotations

from sqlalchemy import select

from watchkeeper.audit.models import AuditEvent


def test_service_crud_round_trip_is_audited_with_api_source(client, personas, session):
    h = personas["alice"].headers
    created = client.post("/api/v1/services", json={
        "name": "checkout", "team": "payments", "tier": 1, "targets": {"slo": 99.9, "slo_window": "30d", "rpo": "15m"},
        "links": [{"title": "repo", "url": "https://git.example.com/checkout"}],
    }, headers=h)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["stage"] == "POC" and body["targets"]["rpo"] == "15m"
    patched = client.patch("/api/v1/services/checkout", json={"tier": 2}, headers=h)
    assert patched.status_code == 200 and patched.json()["tier"] == 2
    listed = client.get("/api/v1/services", headers=h).json()
    assert [s["name"] for s in listed] == ["checkout"]
    events = session.execute(select(AuditEvent).where(AuditEvent.target == "service:checkout").order_by(AuditEvent.seq)).scalars().all()
    assert [(e.action, e.source, e.actor) for e in events] == [("service.create", "api", "alice"), ("service.update", "api", "alice")]
    assert events[1].before == {"tier": 1} and events[1].after == {"tier": 2}
    assert client.delete("/api/v1/services/checkout", headers=h).status_code == 204
    assert client.get("/api/v1/services/checkout", headers=h).status_code == 404


def test_outsider_gets_403_on_another_teams_service(client, personas):
    client.post("/api/v1/services", json={"name": "checkout", "team": "payments"}, headers=personas["root"].headers)
    r = client.patch("/api/v1/services/checkout", json={"tier": 1}, headers=personas["carol"].headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"
    r = client.get("/api/v1/services/checkout", headers=personas["carol"].headers)
    assert r.status_code == 403


def test_promote_skip_is_refused_over_the_api(no_gates, client, personas):
    h = personas["root"].headers
    client.post("/api/v1/services", json={"name": "demo", "team": "payments"}, headers=h)
    r = client.post("/api/v1/services/demo/promote", json={"to": "PROD"}, headers=h)
    assert r.status_code == 409
    assert "skip MVP" in r.json()["error"]["message"]
    r = client.post("/api/v1/services/demo/promote", json={"to": "MVP"}, headers=h)
    assert r.status_code == 200 and r.json()["stage"] == "MVP"


def test_read_only_token_cannot_write(client, personas, session):
    from tests.factories.auth import make_persona

    reader = make_persona(session, "rita", ["admin"], scopes=["read"])
    session.commit()
    assert client.get("/api/v1/services", headers=reader.headers).status_code == 200
    r = client.post("/api/v1/teams", json={"name": "ops"}, headers=reader.headers)
    assert r.status_code == 403
