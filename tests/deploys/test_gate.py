"""The deploy gate (issue 16 item 2): one reason per refusing rule, the exit code CI sees for
each, change freezes (one-off and cron-recurring, in a time zone) and windows, readiness, the
SLO error budget, and overrides (a reason, a second person for PROD, audited)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.cli.test_cli import _run
from tests.factories.auth import SYSTEM, make_persona
from tests.factories.catalog import make_service
from tests.factories.readiness import waive
from watchkeeper import clock, cron
from watchkeeper.audit.models import AuditEvent
from watchkeeper.clock import to_ms
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction
from watchkeeper.deploys import _occurrences, freezes, gate
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.models import Rollback
from watchkeeper.deploys.schemas import (
    DeployFinish,
    DeployStart,
    FreezeCreate,
    GateRequest,
    OverrideCreate,
    ServiceDeployConfig,
)
from watchkeeper.errors import InvalidInput, PermissionDenied

PASSED = {"url": "https://ci.example.com/runs/1", "status": "passed", "passed": 10}
UTC = dt.UTC


def _check(session, version="2.0.0", stage=None, actor=SYSTEM, **fields):
    return gate.check(session, data=GateRequest.model_validate({"service": "shop", "version": version, "stage": stage, **fields}),
                      actor=actor)


def _rules(result) -> list[str]:
    return [r.rule for r in result.reasons]


def _deployed(session, version: str) -> None:
    d = deploys.start_deploy(session, data=DeployStart.model_validate({"service": "shop", "version": version, "tests": PASSED}), actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=d.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)


def _drilled(session, seconds: float, *, days_ago: float = 1, status: str = "succeeded") -> None:
    at = clock.utcnow() - dt.timedelta(days=days_ago)
    session.add(Rollback(service="shop", environment="production", kind="drill", trigger="manual", status=status, from_version="2",
                         to_version="1", requested_by="test", queued_at=at, started_at=at, finished_at=at, target_seconds=300.0,
                         time_to_healthy_seconds=seconds, legs=[], reason=None))
    session.flush()


def _freeze(session, **fields) -> None:
    freezes.create_freeze(session, data=FreezeCreate.model_validate(fields), actor=SYSTEM)


@pytest.fixture
def shop(session, frozen_clock):
    """A POC service (an empty readiness checklist), deployed once before."""
    make_service(session, name="shop", team="payments")
    _deployed(session, "1.0.0")
    return frozen_clock


def test_a_tested_version_with_nothing_against_it_is_allowed(session, shop):
    result = _check(session, tests=PASSED)
    assert (result.allowed, result.exit_code, result.reasons, result.stage) == (True, 0, [], "POC")
    assert result.not_checked == []


def test_tests_rule(session, shop):
    untested = _check(session)
    assert (_rules(untested), untested.exit_code) == (["tests"], 3) and untested.reasons[0].reason.startswith("untested")
    failed = _check(session, tests={"url": "https://ci.example.com/runs/2", "status": "failed", "passed": 8, "failed": 2})
    assert (_rules(failed), failed.exit_code) == (["tests"], 3)
    assert failed.reasons[0].reason == "tests failed (2 failed, 8 passed) in https://ci.example.com/runs/2"
    # evidence recorded with an earlier deploy of the same version counts
    deploys.start_deploy(session, data=DeployStart.model_validate({"service": "shop", "version": "2.0.0", "environment": "staging",
                                                                   "tests": PASSED}), actor=SYSTEM)
    assert _check(session).exit_code == 0


def test_rollback_rules_apply_to_prod(session, frozen_clock):
    make_service(session, name="shop", team="payments")
    first = _check(session, stage="PROD", tests=PASSED)
    assert {"rollback_target", "rollback_drilled", "readiness"} <= set(_rules(first)) and first.exit_code == 3
    target = next(r.reason for r in first.reasons if r.rule == "rollback_target")
    assert target.startswith("no rollback target: no earlier successful deploy")
    _deployed(session, "1.0.0")
    no_how = next(r.reason for r in _check(session, stage="PROD", tests=PASSED).reasons if r.rule == "rollback_target")
    assert no_how.startswith("rollback target 1.0.0 has no way back")
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate(
        {"service": "shop", "rollback": {"command": {"command": ["/bin/true"]}}}), actor=SYSTEM)
    assert "rollback_target" not in _rules(_check(session, stage="PROD", tests=PASSED))
    drilled = next(r.reason for r in first.reasons if r.rule == "rollback_drilled")
    assert "no rollback or rollback drill of 'shop' is recorded" in drilled
    _drilled(session, 400.0)
    slow = next(r.reason for r in _check(session, stage="PROD", tests=PASSED).reasons if r.rule == "rollback_drilled")
    assert "took 6.7min to healthy, over the 5.0min target" in slow
    _drilled(session, 95.0, days_ago=91)
    old = next(r.reason for r in _check(session, stage="PROD", tests=PASSED).reasons if r.rule == "rollback_drilled")
    assert "91 days old" in old
    _drilled(session, 95.0)
    assert "rollback_drilled" not in _rules(_check(session, stage="PROD", tests=PASSED))
    # outside PROD neither rule applies
    assert _check(session, stage="POC", tests=PASSED).exit_code == 0


def test_freezes_one_off_and_recurring_in_a_time_zone(session, shop):
    # Monday 2026-03-02 09:00 UTC. A weekend freeze from Friday 16:00 to Monday 08:00, Berlin time.
    _freeze(session, name="weekend", cron="0 16 * * 5", timezone="Europe/Berlin", duration="64h", reason="no weekend changes")
    assert _check(session, tests=PASSED).exit_code == 0  # 10:00 in Berlin: the freeze ended at 08:00
    clock.set_frozen(dt.datetime(2026, 3, 2, 6, 59, tzinfo=UTC))  # 07:59 in Berlin: still frozen
    refused = _check(session, tests=PASSED)
    assert (_rules(refused), refused.exit_code) == (["freeze"], 3)
    assert refused.reasons[0].reason == ("inside change freeze 'weekend' (global) until 2026-03-02 07:00 UTC: no weekend changes")
    clock.set_frozen(dt.datetime(2026, 3, 6, 14, 59, tzinfo=UTC))  # Friday 15:59 Berlin: not yet
    assert _check(session, tests=PASSED).exit_code == 0
    clock.set_frozen(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    assert _rules(_check(session, tests=PASSED)) == ["freeze"]
    # a one-off freeze of another team does not apply; one of this team does
    make_service(session, name="find", team="search")
    clock.set_frozen(dt.datetime(2026, 12, 24, 12, 0, tzinfo=UTC))
    _freeze(session, name="search-xmas", team="search", starts_at="2026-12-20T00:00:00Z", duration="14d")
    assert _check(session, tests=PASSED).exit_code == 0
    _freeze(session, name="payments-xmas", team="payments", starts_at="2026-12-20T00:00:00Z", duration="14d")
    assert "'payments-xmas' (team payments) until 2027-01-03 00:00 UTC" in _check(session, tests=PASSED).reasons[0].reason


def test_change_windows(session, shop):
    # Weekdays 09:00-17:00 in New York; now is 04:00 there on a Monday.
    _freeze(session, name="business-hours", kind="window", service="shop", cron="0 9 * * 1-5", timezone="America/New_York",
            duration="8h")
    refused = _check(session, tests=PASSED)
    assert (_rules(refused), refused.exit_code) == (["change_window"], 3)
    assert refused.reasons[0].reason == "outside the allowed change windows (business-hours); the next opens 2026-03-02 14:00 UTC"
    clock.set_frozen(dt.datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    assert _check(session, tests=PASSED).exit_code == 0
    clock.set_frozen(dt.datetime(2026, 3, 2, 22, 0, tzinfo=UTC))  # 17:00 New York: closed again
    assert _rules(_check(session, tests=PASSED)) == ["change_window"]


def test_readiness_rule(session, shop):
    refused = _check(session, stage="MVP", tests=PASSED)
    assert (_rules(refused), refused.exit_code) == (["readiness"], 3)
    assert refused.reasons[0].reason.startswith("not ready for MVP (4 blocking items): real_persistence:")
    for check in ("real_persistence", "authentication", "happy_path_tested", "error_handling"):
        waive(session, "shop", check)
    assert _check(session, stage="MVP", tests=PASSED).exit_code == 0


def test_slo_budget_rule(session, shop):
    from watchkeeper.monitoring.metrics import store
    from watchkeeper.monitoring.models import Slo
    from watchkeeper.monitoring.slos import evaluation
    from watchkeeper.monitoring.slos import service as slos_service
    from watchkeeper.monitoring.slos.schemas import SloCreate

    slos_service.create_slo(session, data=SloCreate(name="shop-availability", service="shop", target=99.9, window="30d",
                                                    good="requests_good", total="requests_total"), actor=SYSTEM)
    now = clock.utcnow()
    samples = []
    for i in range(60):  # an hour at 5 % errors: 50 times the 0.1 % budget rate
        ts = to_ms(now - (60 - i) * dt.timedelta(minutes=1)) + 10_000
        samples += [("requests_total", {"svc": "shop"}, 1000.0, ts), ("requests_good", {"svc": "shop"}, 950.0, ts)]
    store.write(session, samples)
    slo = session.execute(select(Slo)).scalar_one()
    for _ in range(5):
        evaluation.evaluate_slo(session, slo)
    refused = _check(session, tests=PASSED)
    assert (_rules(refused), refused.exit_code) == (["slo_budget"], 3)
    assert "shop-availability has" in refused.reasons[0].reason and "(exhausted)" in refused.reasons[0].reason
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate({"service": "shop", "budget": {"enforce": False}}), actor=SYSTEM)
    assert _check(session, tests=PASSED).exit_code == 0


def test_incident_rule(session, shop):
    from watchkeeper.incidents import service as incidents
    from watchkeeper.incidents.schemas import IncidentCreate

    make_service(session, name="db", team="payments")
    from watchkeeper.catalog import service as catalog
    from watchkeeper.catalog.schemas import ServiceUpdate

    catalog.update_service(session, name="shop", data=ServiceUpdate(depends_on=["db"]), actor=SYSTEM)
    minor = incidents.declare(session, data=IncidentCreate(title="slow search", severity="SEV3", services=["shop"]), actor=SYSTEM)
    assert _check(session, tests=PASSED).exit_code == 0  # SEV3 does not stop deploys
    major = incidents.declare(session, data=IncidentCreate(title="checkout down", severity="SEV2", services=["shop"]), actor=SYSTEM)
    refused = _check(session, tests=PASSED)
    assert (_rules(refused), refused.exit_code) == (["incident"], 3)
    assert refused.reasons[0].reason == f"open incident: #{major.id} SEV2 'checkout down' on shop ({major.status})"
    incidents.resolve(session, incident_id=major.id, actor=SYSTEM)
    assert _check(session, tests=PASSED).exit_code == 0
    dep = incidents.declare(session, data=IncidentCreate(title="db failover", severity="SEV1", services=["db"]), actor=SYSTEM)
    assert _check(session, tests=PASSED).reasons[0].reason.startswith(f"open incident: #{dep.id} SEV1 'db failover' on dependency db")
    assert minor.id != dep.id


def test_unknown_service_is_bad_input(session, shop):
    with pytest.raises(InvalidInput, match="unknown service 'nope'"):
        gate.check(session, data=GateRequest(service="nope", version="1"), actor=SYSTEM)


def test_two_person_override_for_prod(session, client, frozen_clock):
    make_service(session, name="shop", team="payments")
    alice = make_persona(session, "alice", ["operator@team:payments"])
    dave = make_persona(session, "dave", ["operator@team:payments"])
    session.commit()
    body = {"service": "shop", "version": "2.0.0", "stage": "PROD", "tests": PASSED}
    refused = client.post("/api/v1/deploys/check", headers=alice.headers, json=body).json()
    assert refused["exit_code"] == 3 and not refused["allowed"]
    no_reason = client.post("/api/v1/deploys/overrides", headers=alice.headers, json={"service": "shop", "version": "2.0.0", "stage": "PROD"})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    requested = client.post("/api/v1/deploys/overrides", headers=alice.headers,
                            json={"service": "shop", "version": "2.0.0", "stage": "PROD", "reason": "hotfix for the checkout outage"})
    assert requested.status_code == 201 and requested.json()["active"] is False
    oid = requested.json()["id"]
    pending = client.post("/api/v1/deploys/check", headers=alice.headers, json=body).json()
    assert (pending["exit_code"], pending["allowed"], pending["override"]["id"]) == (4, False, oid)
    own = client.post(f"/api/v1/deploys/overrides/{oid}/approve", headers=alice.headers)
    assert own.status_code == 403 and "a second person must approve" in own.json()["error"]["message"]
    approved = client.post(f"/api/v1/deploys/overrides/{oid}/approve", headers=dave.headers)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "dave" and approved.json()["active"] is True
    allowed = client.post("/api/v1/deploys/check", headers=alice.headers, json=body).json()
    assert (allowed["exit_code"], allowed["allowed"]) == (0, True)
    assert {r["rule"] for r in allowed["reasons"]} >= {"rollback_target", "rollback_drilled"}  # still shown, overridden
    client.post("/api/v1/deploys/check", headers=alice.headers, json=body)  # used once: audited once
    audit = [(a.action, a.actor) for a in session.execute(select(AuditEvent).where(AuditEvent.action.like("deploy.override%"))
                                                          .order_by(AuditEvent.seq)).scalars()]
    assert audit == [("deploy.override_request", "alice"), ("deploy.override_approve", "dave"), ("deploy.override_use", "alice")]
    # another version is not covered; the override expires
    assert client.post("/api/v1/deploys/check", headers=alice.headers, json={**body, "version": "2.0.1"}).json()["exit_code"] == 3
    clock.advance(dt.timedelta(hours=5))
    assert client.post("/api/v1/deploys/check", headers=alice.headers, json=body).json()["exit_code"] == 3


def test_an_override_outside_prod_needs_no_second_person(session, shop, personas):
    alice = personas["alice"].actor
    made = gate.request_override(session, data=OverrideCreate(service="shop", version="2.0.0", reason="tests flaky, verified by hand"),
                                 actor=alice)
    assert made.active and made.approved_by == "alice"
    assert (_check(session, actor=alice).exit_code, _check(session, actor=alice).allowed) == (0, True)
    with pytest.raises(PermissionDenied):
        gate.request_override(session, data=OverrideCreate(service="shop", version="2.0.0", reason="not my team at all"),
                              actor=personas["carol"].actor)


def test_cli_exit_codes(fresh_url, tmp_path):
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        make_service(session, name="shop", team="payments")
    engine.dispose()
    args = ["deploy", "check", "shop", "--version", "2.0.0"]
    untested = _run(args, fresh_url, tmp_path, check=False)
    assert untested.returncode == 3 and "refused [tests]: untested" in untested.stderr
    ok = _run(["--json", *args, "--tests-url", "https://ci.example.com/r/1", "--tests-status", "passed", "--tests-passed", "5"],
              fresh_url, tmp_path, check=False)
    assert ok.returncode == 0 and json.loads(ok.stdout)["allowed"] is True
    bad = _run(["deploy", "check", "shop", "--version", "2.0.0", "--tests-url", "javascript:x", "--tests-status", "passed"],
               fresh_url, tmp_path, check=False)
    assert bad.returncode == 2 and "http(s) URL" in bad.stderr and bad.stderr.count("\n") == 1
    unknown = _run(["deploy", "check", "nope", "--version", "1"], fresh_url, tmp_path, check=False)
    assert unknown.returncode == 2 and "unknown service 'nope'" in unknown.stderr
    prod = _run([*args, "--stage", "PROD", "--tests-url", "https://ci.example.com/r/1", "--tests-status", "passed"], fresh_url, tmp_path,
                check=False)
    assert prod.returncode == 3 and "refused [rollback_target]" in prod.stderr
    requested = _run(["--json", "deploy", "override", "shop", "--version", "2.0.0", "--stage", "PROD", "--reason", "incident fix, tested by hand"],
                     fresh_url, tmp_path)
    assert json.loads(requested.stdout)["active"] is False
    pending = _run([*args, "--stage", "PROD"], fresh_url, tmp_path, check=False)
    assert pending.returncode == 4
    started = json.loads(_run(["--json", "deploy", "start", "shop", "--version", "2.0.0", "--commit", "abcdef1"], fresh_url, tmp_path).stdout)
    assert started["tests_status"] == "untested"
    done = json.loads(_run(["--json", "deploy", "finish", str(started["id"]), "--outcome", "succeeded"], fresh_url, tmp_path).stdout)
    assert done["status"] == "succeeded"
    listed = _run(["deploy", "list", "--service", "shop"], fresh_url, tmp_path).stdout
    assert "2.0.0" in listed and "succeeded" in listed


# ---------------------------------------------------------------- occurrences, against a brute-force model

CRONS = ["0 16 * * 5", "*/15 * * * *", "30 2 * * *", "0 9 * * 1-5", "0 0 1 * *", "15 1,13 * * 0"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=st.sampled_from(CRONS), zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
       minutes=st.integers(1, 3 * 24 * 60), at=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)))
def test_a_recurring_freeze_is_in_force_exactly_when_a_start_lies_within_its_duration_before(line, zone, minutes, at):
    at = at.replace(tzinfo=UTC)
    duration = dt.timedelta(minutes=minutes)
    starts = []
    for start in cron.runs(line, after=at - duration - dt.timedelta(days=40), timezone=zone):
        if start > at:
            break
        starts.append(start)
    expected = any(s <= at < s + duration for s in starts)
    got = _occurrences.active(starts_at=None, cron=line, tz=zone, until=None, duration=duration, at=at)
    assert (got is not None) == expected
    if got is not None:
        assert got[0] <= at < got[1] and got[1] - got[0] == duration


def test_freeze_input_is_checked():
    from pydantic import ValidationError

    for fields, message in (({"name": "f", "duration": "1h"}, "give starts_at (one-off) or cron (recurring)"),
                            ({"name": "f", "cron": "0 0 30 2 *", "duration": "1h"}, "never"),
                            ({"name": "f", "cron": "* * * * * *", "duration": "1h"}, "6"),
                            ({"name": "f", "starts_at": "2026-01-01T00:00:00", "duration": "1h"}, "needs a time zone"),
                            ({"name": "f", "starts_at": "2026-01-01T00:00:00Z", "duration": "1h", "team": "a", "service": "b"}, "not both"),
                            ({"name": "f", "cron": "0 1 * * *", "timezone": "Mars/Olympus", "duration": "1h"}, "unknown time zone")):
        with pytest.raises(ValidationError, match=re.escape(message)):
            FreezeCreate.model_validate(fields)
