"""The backups API: parse, call the service, return its schema; permissions and scope as the
service decides them; bad input a one-line 422."""

from __future__ import annotations

import pytest

from tests.factories.catalog import make_service

JOB = {"name": "pay-db", "service": "checkout",
       "source": {"kind": "sqlite", "database": "/var/lib/pay/pay.db", "directory": "/var/backups/pay"},
       "restore_test": {"sql": "select count(*) from t", "expect": "1"}}


@pytest.fixture
def shop(session, personas):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="searchapi", team="search")
    session.commit()
    return personas


def test_crud_runs_and_history(client, shop, session):
    alice, bob, carol, root = (shop[p].headers for p in ("alice", "bob", "carol", "root"))
    created = client.post("/api/v1/backups", json=JOB, headers=alice)
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "sqlite" and created.json()["managed_by"] == "runtime"
    assert client.post("/api/v1/backups", json={**JOB, "name": "s", "service": "searchapi"}, headers=alice).status_code == 403
    assert client.post("/api/v1/backups", json={**JOB, "name": "s", "service": "searchapi"}, headers=root).status_code == 201
    assert [b["name"] for b in client.get("/api/v1/backups", headers=bob).json()] == ["pay-db"]
    assert [b["name"] for b in client.get("/api/v1/backups", headers=root).json()] == ["pay-db", "s"]
    assert client.get("/api/v1/backups", headers=carol).status_code == 403
    assert client.get("/api/v1/backups/s", headers=bob).status_code == 403

    changed = client.put("/api/v1/backups/pay-db", json={**JOB, "retention": {"keep_last": 3}}, headers=alice)
    assert changed.status_code == 200 and changed.json()["retention"] == {"keep_last": 3}
    renamed = client.put("/api/v1/backups/pay-db", json={**JOB, "name": "other"}, headers=alice)
    assert renamed.status_code == 422 and "cannot be renamed" in renamed.json()["error"]["message"]

    assert client.post("/api/v1/backups/pay-db/run", headers=bob).status_code == 403
    queued = client.post("/api/v1/backups/pay-db/run", headers=alice)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    assert client.post("/api/v1/backups/pay-db/restore-test", headers=alice).status_code == 202
    runs = client.get("/api/v1/backups/pay-db/runs", headers=bob).json()
    assert [(r["kind"], r["status"]) for r in runs] == [("restore_test", "queued"), ("backup", "queued")]
    assert [r["kind"] for r in client.get("/api/v1/backups/pay-db/runs?kind=backup", headers=bob).json()] == ["backup"]
    one = client.get(f"/api/v1/backup-runs/{queued.json()['id']}", headers=bob)
    assert one.status_code == 200 and one.json()["job"] == "pay-db"
    assert client.get(f"/api/v1/backup-runs/{queued.json()['id']}", headers=shop["audrey"].headers).status_code == 200

    assert client.delete("/api/v1/backups/pay-db", headers=bob).status_code == 403
    assert client.delete("/api/v1/backups/pay-db", headers=alice).status_code == 204
    assert client.get("/api/v1/backups/pay-db", headers=alice).status_code == 404


@pytest.mark.parametrize("body,word", [
    ({**JOB, "source": {"kind": "postgres", "dsn_env": "DSN", "directory": "/d", "dsn": "postgresql://u:pw@h/db"}}, "dsn"),
    ({**JOB, "name": "x" * 5000}, "name"),
    ({**JOB, "timeout": "99999d"}, "timeout"),
    ({**JOB, "source": {"kind": "command", "argv": ["x" * 5000]}}, "argv"),
])
def test_bad_input_is_a_one_line_422(client, shop, body, word):
    r = client.post("/api/v1/backups", json=body, headers=shop["alice"].headers)
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "\n" not in message and word in message, message


def test_bad_query_values_are_422(client, shop, session):
    created = client.post("/api/v1/backups", json=JOB, headers=shop["alice"].headers)
    assert created.status_code == 201
    for url in ("/api/v1/backups/pay-db/runs?kind=drill", "/api/v1/backups/pay-db/runs?limit=0",
                "/api/v1/backups?service=" + "x" * 200):
        r = client.get(url, headers=shop["alice"].headers)
        assert r.status_code == 422 and "\n" not in r.json()["error"]["message"], (url, r.text)
