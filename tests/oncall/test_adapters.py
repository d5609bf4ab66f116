"""The on-call adapters: watchkeeper.yaml (apply, idempotence, prune, validate), the HTTP API
and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.cli.test_cli import _run
from tests.factories.catalog import SYSTEM, make_service
from watchkeeper import clock
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate, SupportHours
from watchkeeper.configfile import loader, plan
from watchkeeper.oncall import policies
from watchkeeper.oncall import service as oncall

CONFIG = """
version: 1
people:
  - {handle: ann, email: ann@example.com}
  - {handle: ben, email: ben@example.com}
teams:
  - {name: core, members: [ann, ben]}
services:
  - name: api
    team: core
    support_hours: {kind: business, timezone: Europe/Berlin}
oncall:
  schedules:
    - name: core-primary
      team: core
      timezone: Europe/Berlin
      layers:
        - {name: weekly, members: [ann, ben], shift_unit: weeks, handoff_weekday: mon, start: 2026-11-02}
  policies:
    - name: core-default
      team: core
      services: [api]
      repeat: 1
      levels:
        - targets: [{kind: schedule, name: core-primary}]
          timeout: 10m
        - targets: [{kind: person, name: ben}]
          timeout: 30m
      response_targets:
        - {severity: critical, ack: 5m, resolve: 4h}
        - {ack: 30m}
"""


def test_the_oncall_section_applies_idempotently_and_prunes_what_it_owns(session, system_actor):
    first = plan.apply(session, loader.load_text(CONFIG, file="w.yaml"), actor=system_actor)
    made = [(c.action, c.kind, c.name) for c in first.changes if c.kind.startswith("oncall")]
    assert made == [("create", "oncall_schedule", "core-primary"), ("create", "oncall_policy", "core-default")]
    again = plan.apply(session, loader.load_text(CONFIG, file="w.yaml"), actor=system_actor)
    assert again.empty, [c.describe() for c in again.changes]
    longer = plan.apply(session, loader.load_text(CONFIG.replace("timeout: 30m", "timeout: 45m"), file="w.yaml"), actor=system_actor)
    assert [(c.action, c.name) for c in longer.changes if c.kind == "oncall_policy"] == [("update", "core-default")]
    # a schedule made at run time is not the file's to delete
    oncall.create_schedule(session, data=oncall.as_create(oncall.get_schedule(session, name="core-primary", actor=system_actor))
                           .model_copy(update={"name": "adhoc"}), actor=system_actor)
    pruned = CONFIG[:CONFIG.index("oncall:")] + "oncall: {schedules: [], policies: []}\n"
    gone = plan.apply(session, loader.load_text(pruned, file="w.yaml"), actor=system_actor, prune=True)
    assert sorted((c.action, c.kind, c.name) for c in gone.changes if c.kind.startswith("oncall")) == [
        ("delete", "oncall_policy", "core-default"), ("delete", "oncall_schedule", "core-primary")]
    assert [s.name for s in oncall.list_schedules(session, actor=system_actor)] == ["adhoc"]


def test_bad_oncall_config_is_reported_with_file_line_and_column():
    bad = CONFIG.replace("shift_unit: weeks, handoff_weekday: mon", "shift_unit: days, handoff_weekday: mon")
    with pytest.raises(loader.ConfigInvalid) as caught:
        loader.load_text(bad, file="w.yaml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("w.yaml:18:11: oncall.schedules[0].layers[0]:") and "handoff_weekday applies to weekly rotations only" in message


@pytest.fixture
def api_world(session, personas):
    clock.set_frozen(dt.datetime(2026, 12, 7, 6, tzinfo=dt.timezone.utc))
    for handle in ("ann", "ben"):
        teams.create_person(session, data=PersonCreate(handle=handle, email=f"{handle}@example.com"), actor=SYSTEM)
    make_service(session, name="checkout", support_hours=SupportHours(kind="business", timezone="Europe/Berlin"))
    make_service(session, name="finder", team="search")
    session.commit()
    yield personas
    clock.set_frozen(None)


SCHEDULE = {"name": "pay", "team": "payments", "timezone": "Europe/Berlin",
            "layers": [{"name": "weekly", "members": ["ann", "ben"], "handoff_weekday": "mon", "start": "2026-11-02"}]}
POLICY = {"name": "pay-policy", "team": "payments", "services": ["checkout"],
          "levels": [{"targets": [{"kind": "schedule", "name": "pay"}], "timeout": "5m"}]}


def test_the_api_creates_reads_and_checks_permissions(client, api_world):
    alice, bob, carol = (api_world[p].headers for p in ("alice", "bob", "carol"))
    assert client.post("/api/v1/oncall/schedules", json=SCHEDULE, headers=bob).status_code == 403
    r = client.post("/api/v1/oncall/schedules", json=SCHEDULE, headers=alice)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/oncall/policies", json=POLICY, headers=alice).status_code == 201
    r = client.get("/api/v1/oncall/schedules/pay/timeline", params={"start": "2026-12-07T00:00:00Z", "end": "2026-12-15T00:00:00Z"},
                   headers=bob)
    assert [(s["start"], s["person"]) for s in r.json()["segments"]] == [
        ("2026-12-07T00:00:00Z", "ann"), ("2026-12-07T08:00:00Z", "ben"), ("2026-12-14T08:00:00Z", "ann")]
    r = client.post("/api/v1/oncall/overrides", json={"schedule": "pay", "person": "ann", "start": "2026-12-08T00:00:00Z",
                                                      "end": "2026-12-08T12:00:00Z"}, headers=alice)
    assert r.status_code == 201, r.text
    r = client.get("/api/v1/oncall/who", params={"at": "2026-12-08T01:00:00Z"}, headers=bob)
    assert [(w["schedule"], w["person"]) for w in r.json()] == [("pay", "ann")]
    r = client.get("/api/v1/oncall/coverage/checkout", headers=bob)
    assert r.status_code == 200 and r.json()["status"] == "pass", r.text
    assert client.get("/api/v1/oncall/coverage/finder", headers=bob).status_code == 403
    assert [c["service"] for c in client.get("/api/v1/oncall/coverage", headers=bob).json()] == ["checkout"]
    assert client.get("/api/v1/oncall/schedules", headers=carol).status_code == 403
    assert client.delete(f"/api/v1/oncall/schedules/pay/overrides/{999}", headers=alice).status_code == 404
    assert client.put("/api/v1/oncall/policies/pay-policy", json={**POLICY, "repeat": 2}, headers=alice).json()["repeat"] == 2


def test_the_api_refuses_bad_input_in_one_line(client, api_world):
    alice = api_world["alice"].headers
    for body in ({**SCHEDULE, "layers": [{**SCHEDULE["layers"][0], "members": ["x" * 101]}]},
                 {**SCHEDULE, "layers": [SCHEDULE["layers"][0]] * 11},
                 {**SCHEDULE, "timezone": "Mars/Olympus"},
                 {**SCHEDULE, "description": "x" * 501}):
        r = client.post("/api/v1/oncall/schedules", json=body, headers=alice)
        assert r.status_code == 422, r.text
        assert "\n" not in r.json()["error"]["message"]
    r = client.put("/api/v1/oncall/schedules/other", json=SCHEDULE, headers=alice)
    assert r.status_code == 422 and "must match" in r.json()["error"]["message"]
    client.post("/api/v1/oncall/schedules", json=SCHEDULE, headers=alice)
    r = client.get("/api/v1/oncall/schedules/pay/timeline", params={"start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
                   headers=alice)
    assert r.status_code == 422 and "at most 92 days" in r.json()["error"]["message"]


def test_the_cli_verbs(fresh_url, tmp_path):
    (tmp_path / "w.yaml").write_text(CONFIG)
    url = fresh_url
    _run(["apply", "-f", str(tmp_path / "w.yaml")], url, tmp_path)
    who = json.loads(_run(["--json", "oncall", "who", "--at", "2026-12-08T12:00:00Z"], url, tmp_path).stdout)
    assert [(w["schedule"], w["person"]) for w in who] == [("core-primary", "ben")]
    by_service = json.loads(_run(["--json", "oncall", "who", "--service", "api", "--at", "2026-12-08T12:00:00Z"], url, tmp_path).stdout)
    assert [(w["schedule"], w["person"]) for w in by_service] == [("core-primary", "ben")]
    shown = _run(["oncall", "schedule", "show", "core-primary", "--from", "2026-12-07T00:00:00Z", "--to", "2026-12-15T00:00:00Z"],
                 url, tmp_path).stdout
    assert "layer:weekly" in shown and "ben" in shown
    added = json.loads(_run(["--json", "oncall", "override", "add", "core-primary", "ann", "--from", "2026-12-08T00:00:00Z",
                             "--to", "2026-12-09T00:00:00Z", "--reason", "swap"], url, tmp_path).stdout)
    who = json.loads(_run(["--json", "oncall", "who", "--schedule", "core-primary", "--at", "2026-12-08T12:00:00Z"], url, tmp_path).stdout)
    assert who[0]["person"] == "ann" and who[0]["source"] == f"override:{added['id']}"
    shown = _run(["oncall", "policy", "show"], url, tmp_path).stdout
    assert "core-default" in shown and "schedule:core-primary" in shown and "10m" in shown and "30m" in shown
    cov = json.loads(_run(["--json", "oncall", "coverage", "api"], url, tmp_path).stdout)
    assert cov[0]["policy"] == "core-default" and cov[0]["status"] in ("pass", "fail")
    bad = _run(["oncall", "override", "add", "core-primary", "ann", "--from", "2026-12-09T00:00:00Z", "--to", "2026-12-08T00:00:00Z"],
               url, tmp_path, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "end must be after its start" in bad.stderr
    missing = _run(["oncall", "schedule", "show", "nope"], url, tmp_path, check=False)
    assert missing.returncode != 0 and "no on-call schedule named 'nope'" in missing.stderr and "Traceback" not in missing.stderr


def test_the_escalation_verbs(fresh_url, tmp_path):
    from watchkeeper.app import build
    from watchkeeper.config import Settings
    from watchkeeper.oncall import escalation

    (tmp_path / "w.yaml").write_text(CONFIG)
    url = fresh_url
    _run(["apply", "-f", str(tmp_path / "w.yaml")], url, tmp_path)
    container = build(Settings(database_url=url, data_dir=tmp_path / "data"))
    try:
        with container.session() as session:
            started = escalation.start(session, ref="group:1", policy="core-default", service="api", summary="api down")
            session.commit()
    finally:
        container.dispose()
    listed = json.loads(_run(["--json", "oncall", "escalation", "list"], url, tmp_path).stdout)
    assert [(e["id"], e["status"], e["next_level"]) for e in listed] == [(started.id, "active", 1)]
    moved = json.loads(_run(["--json", "oncall", "escalation", "escalate", str(started.id)], url, tmp_path).stdout)
    assert moved["next_level"] == 1 and moved["status"] == "active"  # level 1 is due now anyway: it stays next
    handed = json.loads(_run(["--json", "oncall", "escalation", "reassign", str(started.id), "ben"], url, tmp_path).stdout)
    assert handed["status"] == "active"
    shown = _run(["oncall", "escalation", "show", str(started.id)], url, tmp_path).stdout
    assert "started" in shown and "escalated" in shown and "reassign" in shown and "ben" in shown
    bad = _run(["oncall", "escalation", "list", "--status", "sleeping"], url, tmp_path, check=False)
    assert bad.returncode == 2 and "status is one of open" in bad.stderr and "Traceback" not in bad.stderr
    gone = _run(["oncall", "escalation", "show", "999"], url, tmp_path, check=False)
    assert gone.returncode != 0 and "no escalation with id 999" in gone.stderr
    nobody = _run(["oncall", "escalation", "reassign", str(started.id), "zed"], url, tmp_path, check=False)
    assert nobody.returncode == 2 and "no person with handle 'zed'" in nobody.stderr
    report = json.loads(_run(["--json", "oncall", "response", "--by", "service"], url, tmp_path).stdout)
    assert [(r["key"], r["escalations"], r["acknowledged"]) for r in report] == [("api", 1, 0)]
    wrong = _run(["oncall", "response", "--by", "planet"], url, tmp_path, check=False)
    assert wrong.returncode == 2 and "by is one of service, team, person" in wrong.stderr
