"""Waivers (who, why, until when — audited, expiring back to failing) and attestations
(a named person, a link, an expiry)."""

from __future__ import annotations

import datetime as dt

import pytest

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from watchkeeper.catalog.stages import Stage
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from watchkeeper.readiness import evaluation, policies, waivers
from watchkeeper.readiness.schemas import AttestationCreate, WaiverCreate
from tests.factories.catalog import make_service
from tests.factories.readiness import attest, waive
from tests.factories.auth import SYSTEM as AUDIT_READER  # the audit log is for admins and auditors


def _item(session, actor, service, check, stage=Stage.PROD):
    return next(i for i in evaluation.get_report(session, service=service, stage=stage, actor=actor).items if i.check == check)


def test_a_waiver_lets_a_failing_item_pass_until_it_expires_then_it_fails_again(session, system_actor, frozen_clock):
    make_service(session, name="svc")
    waiver = waive(session, "svc", "backup_restore_tested", days=10, reason="restic lands in sprint 12")
    item = _item(session, system_actor, "svc", "backup_restore_tested")
    assert (item.word, item.passing, item.blocking) == ("waived", True, False)
    assert item.waiver.id == waiver.id and item.waiver.granted_by == "factory" and item.waiver.reason == "restic lands in sprint 12"
    clock.advance(dt.timedelta(days=10, seconds=1))
    item = _item(session, system_actor, "svc", "backup_restore_tested")
    assert item.word != "waived" and item.blocking and item.waiver is None
    assert item.expired_waiver.id == waiver.id
    assert "waiver by factory expired on 2026-03-12" in item.reason


def test_waivers_are_audited_and_revocable(session, personas):
    make_service(session, name="checkout")
    alice = personas["alice"].actor
    waiver = waivers.grant_waiver(session, service="checkout", actor=alice,
                                    data=WaiverCreate(check="oncall_coverage", reason="rotation starts next month", expires_in="14d"))
    waivers.revoke_waiver(session, service="checkout", waiver_id=waiver.id, reason="rotation is live", actor=alice)
    events = audit.list_events(session, filter=AuditFilter(target="service:checkout", action="readiness."), actor=AUDIT_READER)
    assert [e.action for e in events][:2] == ["readiness.unwaive", "readiness.waive"]
    assert events[1].actor == "alice" and events[1].after["check"] == "oncall_coverage"
    item = _item(session, alice, "checkout", "oncall_coverage")
    assert item.word != "waived"
    with pytest.raises(Conflict):
        waivers.revoke_waiver(session, service="checkout", waiver_id=waiver.id, reason="again", actor=alice)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"expires_in": "0s"}, "not in the future"),
    ({"expires_in": "400d"}, "more than a year ahead"),
])
def test_waiver_expiry_must_be_in_the_future_and_within_a_year(session, system_actor, kwargs, fragment):
    make_service(session, name="svc")
    with pytest.raises(InvalidInput, match=fragment) as info:
        waivers.grant_waiver(session, service="svc", actor=system_actor,
                               data=WaiverCreate(check="dr_plan", reason="plan is being written", **kwargs))
    assert info.value.field == "expires_at"


def test_a_waiver_names_a_known_check_and_only_one_is_active(session, system_actor):
    make_service(session, name="svc")
    with pytest.raises(InvalidInput, match="unknown check 'backups'; checks are: .*backup_restore_tested"):
        waive(session, "svc", "backups")
    waive(session, "svc", "dr_plan")
    with pytest.raises(Conflict, match="already covers svc/dr_plan"):
        waive(session, "svc", "dr_plan")


def test_only_operators_of_the_team_may_waive(session, personas):
    make_service(session, name="checkout")
    data = WaiverCreate(check="dr_plan", reason="plan under review by SRE", expires_in="7d")
    for who in ("bob", "carol"):
        with pytest.raises(PermissionDenied):
            waivers.grant_waiver(session, service="checkout", data=data, actor=personas[who].actor)
    assert waivers.grant_waiver(session, service="checkout", data=data, actor=personas["alice"].actor).granted_by == "alice"


def test_an_attestation_passes_an_unmeasurable_item_warns_before_expiry_and_fails_after(session, system_actor, people, frozen_clock):
    make_service(session, name="svc", stage="POC")
    assert _item(session, system_actor, "svc", "happy_path_tested", Stage.MVP).word == "fail"
    att = attest(session, "svc", "happy_path_tested", by="alice", days=30)
    item = _item(session, system_actor, "svc", "happy_path_tested", Stage.MVP)
    assert item.word == "pass" and "attested by alice" in item.reason and item.link == "https://ci.example.com/report/1"
    assert item.attestation.id == att.id
    clock.advance(dt.timedelta(days=20))
    assert _item(session, system_actor, "svc", "happy_path_tested", Stage.MVP).word == "warn"
    clock.advance(dt.timedelta(days=11))
    item = _item(session, system_actor, "svc", "happy_path_tested", Stage.MVP)
    assert item.word == "fail" and "expired on 2026-04-01" in item.reason


def test_a_newer_attestation_replaces_the_older_one(session, system_actor, people):
    make_service(session, name="svc")
    first = attest(session, "svc", "load_test", by="alice")
    second = attest(session, "svc", "load_test", by="pat")
    rows = waivers.list_attestations(session, service="svc", actor=system_actor)
    assert {(r.id, r.active) for r in rows} == {(first.id, False), (second.id, True)}
    assert "attested by pat" in _item(session, system_actor, "svc", "load_test", Stage.MMP).reason


def test_measured_items_cannot_be_attested_and_the_person_must_exist(session, system_actor, people):
    make_service(session, name="svc")
    with pytest.raises(InvalidInput, match="measured by Watchkeeper"):
        attest(session, "svc", "backup_restore_tested")
    with pytest.raises(InvalidInput, match="unknown person 'mallory'"):
        waivers.attest(session, service="svc", actor=system_actor,
                         data=AttestationCreate(check="load_test", by="mallory", link="https://x.example/r", expires_in="30d"))


def test_custom_attestation_items_from_config_can_be_attested(session, system_actor, people):
    make_service(session, name="svc")
    policies.set_policy(session, stage=Stage.PROD, actor=system_actor, items={"pentest": {"title": "External pentest"}})
    assert _item(session, system_actor, "svc", "pentest").word == "fail"
    attest(session, "svc", "pentest", by="alice")
    assert _item(session, system_actor, "svc", "pentest").word == "pass"
