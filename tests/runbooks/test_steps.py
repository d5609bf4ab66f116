"""Executable steps through the API and a real worker: confirmation, the allow-list, output and
exit status, the timeout kill, audit, and the ServiceActivity an incident timeline takes."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import select

from watchkeeper import app as wk_app
from watchkeeper import events
from watchkeeper.audit.models import AuditEvent
from watchkeeper.runbooks.steps import clean_output

from tests.factories.catalog import make_service
from tests.runbooks.helpers import configure, front

BODY = """# Checkout

```sh {step=hello confirm=true}
echo "hello from $RUNBOOK_GREETING"
echo oops >&2
exit 3
```

```sh {step=sleepy timeout=1s}
echo started; sleep 30; echo never
```

```sh {step=flood}
i=0; while [ $i -lt 5000 ]; do echo "line $i ........................................"; i=$((i+1)); done
```

```python {step=elsewhere}
print("not allowed")
```
"""


@pytest.fixture
def folder(session, personas, tmp_path, monkeypatch):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="searchapi", team="search")
    session.commit()
    monkeypatch.setenv("RUNBOOK_GREETING", "the worker")
    monkeypatch.setenv("NOT_PASSED", "secret-value")
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "checkout.md").write_text(front(body=BODY))
    configure(session, tmp_path / "rb", runners=[{"name": "sh", "kind": "shell", "env": ["RUNBOOK_GREETING"],
                                                   "timeout": "20s", "max_output": 4096}])
    session.commit()
    return tmp_path / "rb"


@pytest.fixture
def timeline():
    seen: list[events.ServiceActivity] = []
    events.subscribe(events.ServiceActivity, lambda _session, event: seen.append(event), name="test.runbooks.timeline")
    yield seen
    events.unsubscribe(events.ServiceActivity, "test.runbooks.timeline")


def _run(client, headers, step: str, **body):
    return client.post(f"/api/v1/runbooks/steps/{step}/run", params={"path": "checkout.md"}, json=body, headers=headers)


def _work(container) -> None:
    wk_app.worker(container).run_once()


def test_a_confirmed_step_runs_on_a_worker_with_output_exit_status_audit_and_timeline(client, personas, folder, container,
                                                                                     session, timeline):
    bob = personas["bob"].headers  # responder of payments: holds runbook.run
    refused = _run(client, bob, "hello")
    assert refused.status_code == 422 and "confirmation" in refused.json()["error"]["message"]
    plan = _run(client, bob, "hello", dry_run=True)
    assert plan.status_code == 200 and plan.json()["command"][:2] == ["/bin/sh", "-c"] and plan.json()["would_run"] is True
    assert 'echo "hello from $RUNBOOK_GREETING"' in plan.json()["command"][2]
    assert _run(client, personas["carol"].headers, "hello", confirm=True).status_code == 403

    queued = _run(client, bob, "hello", confirm=True, incident_id=42)
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["id"]
    assert queued.json()["status"] == "queued"
    _work(container)
    done = client.get(f"/api/v1/runbooks/runs/{run_id}", headers=bob).json()
    assert done["status"] == "failed" and done["exit_code"] == 3 and done["timed_out"] is False
    assert done["output"] == "hello from the worker\noops\n" and done["truncated"] is False
    assert "secret-value" not in done["output"]
    actions = [(e.action, e.actor) for e in session.execute(select(AuditEvent).where(AuditEvent.target == "runbook:checkout.md#hello")).scalars()]
    assert ("runbook.run", "bob") in actions and ("runbook.step_ran", "worker") in actions
    [activity] = [a for a in timeline if a.details.get("run_id") == run_id]
    assert activity.kind == "runbook.step_ran" and activity.incident_id == 42 and activity.services == ("checkout",)
    assert activity.actor == "bob" and "failed (exit 3)" in activity.summary
    listed = client.get("/api/v1/runbooks/runs", params={"path": "checkout.md"}, headers=bob).json()
    assert [r["id"] for r in listed] == [run_id] and listed[0]["output"] is None


def test_a_step_off_the_allow_list_is_refused_and_nothing_runs(client, personas, folder, session):
    alice = personas["alice"].headers
    plan = _run(client, alice, "elsewhere", dry_run=True).json()
    assert plan["would_run"] is False and "not on the allow-list" in plan["reason"]
    refused = _run(client, alice, "elsewhere", confirm=True)
    assert refused.status_code == 409 and "allow-list" in refused.json()["error"]["message"]
    assert client.get("/api/v1/runbooks/runs", params={"path": "checkout.md"}, headers=alice).json() == []
    assert _run(client, alice, "nope", confirm=True).status_code == 404


def test_a_step_past_its_timeout_is_killed_and_recorded(client, personas, folder, container):
    alice = personas["alice"].headers
    run_id = _run(client, alice, "sleepy", confirm=True).json()["id"]
    started = time.monotonic()
    _work(container)
    assert time.monotonic() - started < 25  # killed at 1s, not after the 30s sleep
    done = client.get(f"/api/v1/runbooks/runs/{run_id}", headers=alice).json()
    assert done["status"] == "timed_out" and done["timed_out"] is True and done["exit_code"] is None
    assert done["output"] == "started\n" and "killed after the 1s timeout" in done["reason"]
    # The whole process group died: no `sleep 30` is left behind.
    leftover = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == "sleep\x0030\x00"]
    assert leftover == []


def test_output_is_truncated_safely(client, personas, folder, container):
    alice = personas["alice"].headers
    run_id = _run(client, alice, "flood", confirm=True).json()["id"]
    _work(container)
    done = client.get(f"/api/v1/runbooks/runs/{run_id}", headers=alice).json()
    assert done["status"] == "succeeded" and done["truncated"] is True and len(done["output"].encode()) <= 4096
    assert done["output"].startswith("line 0 ")
    text, cut = clean_output("ab\x1b[31mé".encode() * 3 + b"\xff", 10)
    assert cut and "\x1b" not in text and len(text.encode()) <= 10


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""


def test_http_steps_go_through_egress_to_allowed_urls_only(client, personas, session, tmp_path, container):
    import http.server
    import threading

    hits: list[tuple[str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            hits.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"flipped": true}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    make_service(session, name="checkout", team="payments")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "flip.md").write_text(front(body=f"# Flip\n\n```deploy {{step=flip}}\nPOST {base}/api/flip\n\n"
                                                        f'{{"to": "blue"}}\n```\n\n```deploy {{step=elsewhere}}\n'
                                                        f"POST {base}/admin/drop\n```\n"))
    configure(session, tmp_path / "web", runners=[{"name": "deploy", "kind": "http", "allow_urls": [f"{base}/api/"]}])
    session.commit()
    alice = personas["alice"].headers
    run = client.post("/api/v1/runbooks/steps/flip/run", params={"path": "flip.md"}, json={"confirm": True}, headers=alice)
    assert run.status_code == 202, run.text
    _work(container)
    done = client.get(f"/api/v1/runbooks/runs/{run.json()['id']}", headers=alice).json()
    assert done["status"] == "succeeded" and done["output"].startswith("HTTP 200\n") and '"flipped": true' in done["output"]
    assert hits == [("POST", "/api/flip", b'{"to": "blue"}')]
    refused = client.post("/api/v1/runbooks/steps/elsewhere/run", params={"path": "flip.md"}, json={"confirm": True}, headers=alice)
    assert refused.status_code == 409 and "allow_urls" in refused.json()["error"]["message"]
    assert len(hits) == 1
    server.shutdown()


def test_a_run_left_running_by_a_dead_worker_is_failed(session, folder, personas):
    import datetime as dt

    from watchkeeper import clock
    from watchkeeper.runbooks import steps
    from watchkeeper.runbooks.models import StepRun

    queued = steps.run_step(session, path="checkout.md", step="hello", actor=personas["alice"].actor, confirm=True)
    row = session.get(StepRun, queued.id)
    row.status, row.started_at = "running", clock.utcnow() - dt.timedelta(minutes=10)
    session.flush()
    assert steps.reap(session) == 1
    assert session.get(StepRun, queued.id).status == "failed" and "stopped before it finished" in session.get(StepRun, queued.id).reason
    assert steps.reap(session) == 0


def test_a_step_that_changed_after_it_was_confirmed_is_refused(client, personas, folder, session):
    from watchkeeper.runbooks import service as runbooks
    from tests.runbooks.helpers import SYSTEM

    alice = personas["alice"].headers
    seen = client.post("/api/v1/runbooks/steps/hello/run", params={"path": "checkout.md"}, json={"dry_run": True}, headers=alice).json()
    (folder / "checkout.md").write_text(front(body=BODY.replace('echo "hello from', 'rm -rf /tmp/nothing; echo "hello from')))
    runbooks.sync(session, actor=SYSTEM)
    session.commit()
    refused = client.post("/api/v1/runbooks/steps/hello/run", params={"path": "checkout.md"},
                          json={"confirm": True, "command_sha256": seen["command_sha256"]}, headers=alice)
    assert refused.status_code == 409 and "changed since you confirmed it" in refused.json()["error"]["message"]
    fresh = client.post("/api/v1/runbooks/steps/hello/run", params={"path": "checkout.md"}, json={"dry_run": True}, headers=alice).json()
    assert fresh["command_sha256"] != seen["command_sha256"]
    ok = client.post("/api/v1/runbooks/steps/hello/run", params={"path": "checkout.md"},
                     json={"confirm": True, "command_sha256": fresh["command_sha256"]}, headers=alice)
    assert ok.status_code == 202


def test_a_step_run_from_an_incident_lands_on_its_timeline(client, personas, folder, container, session):
    from watchkeeper.incidents import service as incidents
    from watchkeeper.incidents.schemas import IncidentCreate

    from tests.runbooks.helpers import SYSTEM

    incident = incidents.declare(session, data=IncidentCreate(title="Checkout failing", services=["checkout"]), actor=SYSTEM)
    session.commit()
    bob = personas["bob"].headers
    run_id = _run(client, bob, "hello", confirm=True, incident_id=incident.id).json()["id"]
    _work(container)
    entries = incidents.get_timeline(session, incident_id=incident.id, actor=SYSTEM)
    [entry] = [e for e in entries if "ran step 'hello'" in e.summary]
    assert entry.actor == "bob" and "failed (exit 3)" in entry.summary
    assert client.get(f"/api/v1/runbooks/runs/{run_id}", headers=bob).json()["incident_id"] == incident.id
