"""The incident API over HTTP and the CLI through its real entry point, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from tests.cli.test_cli import _run as _cli
from tests.factories.catalog import make_service


def test_the_api_declares_updates_and_resolves(client, world):
    alice, bob, carol = (world[p].headers for p in ("alice", "bob", "carol"))
    assert client.post("/api/v1/incidents", json={"title": "x", "services": ["checkout"]}, headers=carol).status_code == 403
    r = client.post("/api/v1/incidents", json={"title": "Checkout errors", "services": ["checkout"], "severity": "SEV2"},
                    headers=alice)
    assert r.status_code == 201, r.text
    incident_id = r.json()["id"]
    assert r.json()["status"] == "investigating" and r.json()["commander"] == "alice"
    r = client.post(f"/api/v1/incidents/{incident_id}/status", json={"status": "triggered"}, headers=bob)
    assert r.status_code == 409 and r.json()["error"]["message"] == (
        f"incident #{incident_id} cannot go back to triggered once investigating "
        "(allowed next: identified, monitoring, resolved, cancelled)")
    assert client.post(f"/api/v1/incidents/{incident_id}/notes", json={"text": "looking"}, headers=bob).status_code == 201
    r = client.post(f"/api/v1/incidents/{incident_id}/updates", json={"message": "We are on it", "visibility": "public"},
                    headers=bob)
    assert r.status_code == 201 and r.json()["visibility"] == "public"
    assert client.post(f"/api/v1/incidents/{incident_id}/resolve", json={"message": "fixed"}, headers=bob).json()["status"] == "resolved"
    r = client.get(f"/api/v1/incidents/{incident_id}/export.md", headers=bob)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert r.text.startswith(f"# Incident #{incident_id}: Checkout errors")
    kinds = [e["kind"] for e in client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=bob).json()]
    assert kinds == ["declared", "role.assigned", "paged", "note", "update", "status"]
    assert [i["id"] for i in client.get("/api/v1/incidents", params={"status": "closed"}, headers=bob).json()] == [incident_id]


def test_the_api_refuses_bad_input_in_one_line(client, world):
    alice = world["alice"].headers
    for body in ({"title": "", "services": ["checkout"]}, {"title": "x" * 201, "services": ["checkout"]},
                 {"title": "x", "services": []}, {"title": "x", "services": ["checkout"], "severity": "SEV9"},
                 {"title": "x", "services": ["checkout"], "surprise": 1}):
        r = client.post("/api/v1/incidents", json=body, headers=alice)
        assert r.status_code == 422, r.text
        assert "\n" not in r.json()["error"]["message"]


def _run(args, url, cwd, check=True):
    r = _cli(args, url, cwd, check=check)
    return r.returncode, r.stdout, r.stderr


def test_the_cli_declares_lists_moves_and_refuses(tmp_path, fresh_url):
    from sqlalchemy.orm import sessionmaker

    from watchkeeper.db import migrate
    from watchkeeper.db.engine import make_engine

    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with sessionmaker(bind=engine)() as s:
        make_service(s, name="checkout", team="payments", tier=1)
        s.commit()
    engine.dispose()
    code, out, err = _run(["--json", "incident", "declare", "Checkout errors", "-s", "checkout", "--severity", "sev2"],
                          fresh_url, tmp_path)
    assert code == 0, err
    incident_id = json.loads(out)["id"]
    code, out, err = _run(["incident", "status", str(incident_id), "triggered"], fresh_url, tmp_path, check=False)
    assert code == 1 and err.strip() == (f"error: incident #{incident_id} cannot go back to triggered once investigating "
                                         "(allowed next: identified, monitoring, resolved, cancelled)")
    code, out, err = _run(["incident", "declare", "x", "-s", "checkout", "--severity", "SEV9"], fresh_url, tmp_path, check=False)
    assert code == 2 and err.startswith("error: --severity") and "\n" not in err.strip()
    assert _run(["incident", "note", str(incident_id), "rolled back"], fresh_url, tmp_path)[0] == 0
    assert _run(["incident", "resolve", str(incident_id), "-m", "fixed"], fresh_url, tmp_path)[0] == 0
    code, out, err = _run(["--json", "incident", "list", "--status", "all"], fresh_url, tmp_path)
    assert [(r["id"], r["status"]) for r in json.loads(out)] == [(incident_id, "resolved")]
    code, out, err = _run(["incident", "export", str(incident_id)], fresh_url, tmp_path)
    assert out.startswith(f"# Incident #{incident_id}: Checkout errors\n") and "## Notes and updates" in out
    assert "rolled back" in out and "fixed" in out
