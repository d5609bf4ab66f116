"""The monitoring REST API: auth, permissions, one error shape, audit on every change."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories.catalog import make_service
from tests.monitoring.servers import HttpTarget
from watchkeeper.audit.models import AuditEvent


def test_monitor_lifecycle_through_the_api(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    alice = personas["alice"].headers
    body = {"name": "checkout-home", "service": "checkout", "interval": "1m", "http": {"url": "https://checkout.test/"}}
    r = client.post("/api/v1/monitors", headers=alice, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["interval"] == "1m" and r.json()["status"] == "pending"
    assert client.post("/api/v1/monitors", headers=alice, json=body).json()["error"]["code"] == "monitor.exists"
    r = client.patch("/api/v1/monitors/checkout-home", headers=alice, json={"failures_before_down": 3})
    assert r.status_code == 200 and r.json()["failures_before_down"] == 3
    assert client.post("/api/v1/monitors/checkout-home/pause", headers=alice).json()["status"] == "paused"
    assert client.post("/api/v1/monitors/checkout-home/resume", headers=alice).json()["status"] == "pending"
    listed = client.get("/api/v1/monitors", headers=personas["bob"].headers, params={"service": "checkout"}).json()
    assert [m["name"] for m in listed] == ["checkout-home"]
    assert client.get("/api/v1/monitors/checkout-home/uptime", headers=alice).json()[0]["window"] == "24h"
    assert client.delete("/api/v1/monitors/checkout-home", headers=alice).status_code == 204
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.target == "monitor:checkout-home")
                              .order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["monitor.create", "monitor.update", "monitor.update", "monitor.update", "monitor.delete"]


def test_outsiders_and_bad_input_get_the_canonical_error(session, client, personas):
    make_service(session, name="checkout", team="payments")
    session.commit()
    carol = personas["carol"].headers
    r = client.post("/api/v1/monitors", headers=carol, json={"name": "x", "tcp": {"host": "h", "port": 1}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "auth.forbidden"
    r = client.post("/api/v1/monitors", headers=personas["alice"].headers, json={"name": "x", "http": {"url": "nope"}})
    assert r.status_code == 422
    assert set(r.json()["error"]) == {"code", "message", "field"} and "is not an http(s) URL" in r.json()["error"]["message"]
    r = client.get("/api/v1/monitors/ghost", headers=carol)
    assert r.status_code == 404 and r.json()["error"]["code"] == "monitor.not_found"
    assert client.get("/api/v1/monitors").status_code == 401


def test_check_now_runs_the_probe_and_stores_nothing(session, client, personas):
    with HttpTarget() as target:
        client.post("/api/v1/monitors", headers=personas["root"].headers,
                    json={"name": "t", "http": {"url": f"{target.url}/status/500"}})
        r = client.post("/api/v1/monitors/t/check", headers=personas["root"].headers)
    assert r.status_code == 200
    assert r.json()["status"] == "down" and r.json()["error"] == "expected status 2xx, 3xx, got 500 Internal Server Error"
    assert client.get("/api/v1/monitors/t/checks", headers=personas["root"].headers).json() == []
    assert client.post("/api/v1/monitors/t/check", headers=personas["audrey"].headers).status_code == 403


def test_rules_slos_and_sla_routes(session, client, personas, frozen_clock):
    make_service(session, name="checkout", team="payments")
    session.commit()
    alice = personas["alice"].headers
    r = client.post("/api/v1/alert-rules", headers=alice,
                    json={"name": "slow", "service": "checkout", "expr": "avg(x[5m]) > 1", "for": "2m"})
    assert r.status_code == 201 and r.json()["for"] == "2m"
    assert client.get("/api/v1/alert-rules/slow", headers=personas["bob"].headers).json()["expr"] == "avg(x[5m]) > 1"
    r = client.post("/api/v1/slos", headers=alice, json={"name": "co", "service": "checkout", "target": 99.9,
                                                         "good": "ok_total", "total": "all_total"})
    assert r.status_code == 201
    status = client.get("/api/v1/slos/co", headers=alice).json()
    assert status["attainment_percent"] is None and [b["alert"] for b in status["burn"]] == ["page-1h", "page-6h", "ticket-3d"]
    sla = client.get("/api/v1/sla", headers=alice, params={"month": "2026-03"}).json()
    assert [row["service"] for row in sla["rows"]] == ["checkout"]
    assert client.get("/api/v1/signals", headers=personas["bob"].headers).json() == []
    assert client.delete("/api/v1/slos/co", headers=personas["bob"].headers).status_code == 403
