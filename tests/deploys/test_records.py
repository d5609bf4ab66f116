"""Deploy records (issue 16 item 1): start and finish from CI, test evidence ("untested" when
absent), the rollback target, audit, the ServiceActivity timeline port, scoped lists."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from watchkeeper.audit.models import AuditEvent
from watchkeeper.deploys import freezes
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.schemas import (
    DeployFinish,
    DeployStart,
    FreezeCreate,
    ServiceDeployConfig,
)
from watchkeeper.errors import Conflict, PermissionDenied

TESTS = {"url": "https://ci.example.com/runs/42", "status": "passed", "passed": 120, "failed": 0, "skipped": 3}


def _start(session, version: str, actor=SYSTEM, **fields):
    return deploys.start_deploy(session, data=DeployStart.model_validate({"service": "shop", "version": version, **fields}), actor=actor)


def test_start_and_finish_are_recorded_audited_and_on_the_timeline(session, activity):
    make_service(session, name="shop", team="payments")
    first = _start(session, "1.0.0", tests=TESTS, commit="a1b2c3d4e5f6", artifact="registry/shop@sha256:00ff",
                   triggered_by="pipeline #7")
    assert (first.status, first.tests_status, first.tests_passed, first.tests_skipped) == ("in_progress", "passed", 120, 3)
    assert first.triggered_by == "pipeline #7" and first.recorded_by == SYSTEM.name
    assert first.rollback_version is None  # nothing deployed before: no way back yet
    assert (first.gate, first.gate_reasons) == ("allowed", [])  # what the gate said at the start is recorded
    done = deploys.finish_deploy(session, deploy_id=first.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
    assert done.status == "succeeded" and done.finished_at is not None

    # the next deploy is untested and returns to 1.0.0 through the declared rollback hook
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate(
        {"service": "shop", "rollback": {"command": {"command": ["/usr/local/bin/rollback", "{version}"]}}}), actor=SYSTEM)
    second = _start(session, "1.1.0")
    assert second.tests_status == "untested" and second.tests_url is None
    assert second.gate == "refused" and [r["rule"] for r in second.gate_reasons] == ["tests"]
    assert (second.rollback_version, second.rollback_how) == ("1.0.0", "command: /usr/local/bin/rollback {version}")
    deploys.finish_deploy(session, deploy_id=second.id, data=DeployFinish(outcome="rolled_back", reason="5xx after 2 min"), actor=SYSTEM)
    with pytest.raises(Conflict, match="already finished"):
        deploys.finish_deploy(session, deploy_id=second.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)

    assert [(e.kind, e.services, e.link) for e in activity] == [
        ("deploy.started", ("shop",), f"/deploys/{first.id}"), ("deploy.finished", ("shop",), f"/deploys/{first.id}"),
        ("deploy.started", ("shop",), f"/deploys/{second.id}"), ("deploy.rolled_back", ("shop",), f"/deploys/{second.id}")]
    assert "untested" in activity[2].summary and "rolled back to 1.0.0" in activity[3].summary
    assert "5xx after 2 min" in activity[3].summary
    actions = [(a.action, a.target) for a in session.execute(select(AuditEvent).where(AuditEvent.action.like("deploy.%"))
                                                              .order_by(AuditEvent.seq)).scalars()]
    assert actions == [("deploy.start", f"deploy:{first.id}"), ("deploy.finish", f"deploy:{first.id}"),
                       ("deploy.policy_set", "service:shop"),
                       ("deploy.start", f"deploy:{second.id}"), ("deploy.finish", f"deploy:{second.id}")]
    listed = deploys.list_deploys(session, actor=SYSTEM, service="shop")
    assert [d.version for d in listed] == ["1.1.0", "1.0.0"]
    assert [d.version for d in deploys.list_deploys(session, actor=SYSTEM, status="succeeded")] == ["1.0.0"]


@pytest.mark.parametrize("field, value, message", [
    ("tests", {**TESTS, "url": "javascript:alert(1)"}, "must be an http(s) URL"),
    ("tests", {**TESTS, "url": "file:///etc/passwd"}, "must be an http(s) URL"),
    ("tests", {**TESTS, "failed": 2}, "tests.status is passed but tests.failed is 2"),
    ("commit", "not-a-sha", "7-64 lowercase hex"),
    ("version", "1.0 beta", "version '1.0 beta' must be"),
    ("version", "x" * 201, "at most 200 characters"),
    ("environment", "Prod Env", "String should match pattern"),
    ("artifact", "a" * 1001, "at most 1000 characters"),
])
def test_bad_input_is_refused_with_one_line(field, value, message):
    data = {"service": "shop", "version": "1.0.0", field: value}
    with pytest.raises(ValidationError, match=re.escape(message)):
        DeployStart.model_validate(data)


def test_lists_and_reads_are_filtered_by_scope(session, personas):
    make_service(session, name="shop", team="payments")
    make_service(session, name="find", team="search")
    mine = _start(session, "1.0.0")
    deploys.start_deploy(session, data=DeployStart(service="find", version="2.0.0"), actor=SYSTEM)
    alice, carol = personas["alice"].actor, personas["carol"].actor
    assert [d.service for d in deploys.list_deploys(session, actor=alice)] == ["shop"]
    assert {d.service for d in deploys.list_deploys(session, actor=personas["root"].actor)} == {"shop", "find"}
    assert deploys.get_deploy(session, deploy_id=mine.id, actor=alice).version == "1.0.0"
    with pytest.raises(PermissionDenied):
        deploys.list_deploys(session, actor=carol)
    with pytest.raises(PermissionDenied):
        deploys.start_deploy(session, data=DeployStart(service="find", version="2.0.1"), actor=alice)
    # an operator of payments records its own deploys; a responder (bob) may only read them
    assert _start(session, "1.0.1", actor=alice).recorded_by == "alice"
    with pytest.raises(PermissionDenied):
        _start(session, "1.0.2", actor=personas["bob"].actor)
    freezes.create_freeze(session, data=FreezeCreate.model_validate(
        {"name": "search-freeze", "team": "search", "starts_at": "2030-01-01T00:00:00Z", "duration": "1d"}), actor=SYSTEM)
    assert freezes.list_freezes(session, actor=alice) == []
    with pytest.raises(PermissionDenied):  # a global freeze needs a global grant
        freezes.create_freeze(session, data=FreezeCreate.model_validate(
            {"name": "everything", "starts_at": "2030-01-01T00:00:00Z", "duration": "1d"}), actor=alice)


def test_the_api_records_a_deploy_from_a_ci_token(client, session, personas):
    from tests.factories.auth import make_persona

    make_service(session, name="shop", team="payments")
    ci = make_persona(session, "ci", ["operator@team:payments"], scopes=["deploy"])
    session.commit()
    started = client.post("/api/v1/deploys", headers=ci.headers, json={"service": "shop", "version": "3.1.4", "tests": TESTS,
                                                                      "commit": "0123abcd"})
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["recorded_by"] == "ci" and body["tests_status"] == "passed"
    finished = client.post(f"/api/v1/deploys/{body['id']}/finish", headers=ci.headers, json={"outcome": "failed", "reason": "smoke test"})
    assert finished.status_code == 200 and finished.json()["status"] == "failed"
    bad = client.post("/api/v1/deploys", headers=ci.headers, json={"service": "shop", "version": "3.1.5",
                                                                  "tests": {**TESTS, "url": "ftp://ci/run"}})
    assert bad.status_code == 422 and "http(s) URL" in bad.text
    assert client.get(f"/api/v1/deploys/{body['id']}", headers=personas["carol"].headers).status_code == 403
