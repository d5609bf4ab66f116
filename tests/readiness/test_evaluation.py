"""Evaluating checklists from live evidence: reasons that say what to do, providers from the
registry (single and batch), unknown — never a fake pass — where a domain is missing."""

from __future__ import annotations

import re

from watchkeeper.catalog.stages import Stage
from watchkeeper.evidence import Evidence, Status
from watchkeeper.readiness import registry
from watchkeeper.readiness import evaluation, policies
from tests.factories.catalog import make_service

NOT_BUILT = {"backup_restore_tested": "no backup jobs are measured yet", "runbook_reviewed": "no runbooks are tracked yet",
             "oncall_coverage": "no on-call schedules are tracked yet",
             "rollback_drilled": "no deployments or rollback drills are recorded yet",
             "incident_process": "no incident process document"}


def test_a_new_service_fails_or_is_unknown_on_every_prod_item_with_a_next_step(session, system_actor):
    make_service(session, name="fresh", tier=2)
    report = evaluation.get_report(session, service="fresh", stage=Stage.PROD, actor=system_actor)
    assert not report.ready and report.word == "not ready"
    assert len(report.items) == 11
    for item in report.items:
        assert item.word in ("fail", "unknown"), (item.check, item.word, item.reason)
        assert item.blocking
        # Every reason names an action: a command, a config key to set, or what to attach.
        assert re.search(r"`watchkeeper |set |declare |add |waive|run ", item.reason), (item.check, item.reason)
        assert "\n" not in item.reason


def test_items_of_domains_not_built_yet_are_unknown_with_the_domain_named(session, system_actor):
    make_service(session, name="fresh")
    items = {i.check: i for i in evaluation.get_report(session, service="fresh", stage=Stage.PROD, actor=system_actor).items}
    for check, text in NOT_BUILT.items():
        if registry.provider_for(check) is None:
            assert items[check].status is Status.UNKNOWN
            assert text in items[check].reason
            assert "fresh" in items[check].reason  # the waive hint names the service


def test_missing_catalog_targets_fail_rather_than_stay_unknown(session, system_actor):
    make_service(session, name="untargeted")
    items = {i.check: i for i in evaluation.get_report(session, service="untargeted", stage=Stage.PROD, actor=system_actor).items}
    assert items["dr_plan"].status is Status.FAIL and "targets.rpo" in items["dr_plan"].reason
    make_service(session, name="targeted", targets={"rpo": "15m", "rto": "1h", "slo": 99.9, "slo_window": "30d"})
    items = {i.check: i for i in evaluation.get_report(session, service="targeted", stage=Stage.PROD, actor=system_actor).items}
    assert items["dr_plan"].status is Status.UNKNOWN and "DR plan document" in items["dr_plan"].reason


def test_a_registered_provider_answers_its_item_with_reason_age_and_link(session, system_actor, frozen_clock):
    make_service(session, name="svc")
    seen = []

    def backups(session_, service):
        seen.append(service.name)
        return Evidence(Status.PASS, "restore test passed in 4m (RTO 1h)", observed_at=frozen_clock.replace(hour=6),
                        link="/backups/svc", details={"restore_seconds": 240})

    registry.register_provider("backup_restore_tested", backups)
    item = next(i for i in evaluation.get_report(session, service="svc", stage=Stage.PROD, actor=system_actor).items
                if i.check == "backup_restore_tested")
    assert seen == ["svc"]
    assert (item.word, item.passing, item.blocking) == ("pass", True, False)
    assert item.age_seconds == 3 * 3600 and item.link == "/backups/svc" and item.details == {"restore_seconds": 240}


def test_many_services_are_answered_by_one_batch_call(session, system_actor):
    for i in range(5):
        make_service(session, name=f"bulk-{i}")
    calls = []

    def batch(session_, services):
        calls.append(sorted(s.name for s in services))
        return {s.name: Evidence(Status.WARN, "restores are slow") for s in services if s.name != "bulk-4"}

    def single(session_, service):
        return Evidence(Status.FAIL, "single form used")

    registry.register_batch_provider("backup_restore_tested", batch)
    registry.register_provider("backup_restore_tested", single)
    card = evaluation.scorecard(session, stage=Stage.PROD, actor=system_actor, services=[f"bulk-{i}" for i in range(5)])
    assert calls == [[f"bulk-{i}" for i in range(5)]]
    words = {r.service: r.cells["backup_restore_tested"].word for r in card.rows}
    assert words == {"bulk-0": "warn", "bulk-1": "warn", "bulk-2": "warn", "bulk-3": "warn", "bulk-4": "fail"}


def test_a_crashing_provider_reads_unknown_and_names_the_failure(session, system_actor):
    make_service(session, name="svc")

    def broken(session_, service):
        raise KeyError("restic_snapshot")

    registry.register_provider("backup_restore_tested", broken)
    item = next(i for i in evaluation.get_report(session, service="svc", stage=Stage.PROD, actor=system_actor).items
                if i.check == "backup_restore_tested")
    assert item.status is Status.UNKNOWN and item.blocking
    assert "backups evidence provider failed (KeyError" in item.reason


def test_the_default_stage_is_the_service_s_own(session, system_actor):
    make_service(session, name="young", stage="POC")
    report = evaluation.get_report(session, service="young", actor=system_actor)
    assert report.stage is Stage.POC and report.items == [] and report.ready
    mvp = evaluation.get_report(session, service="young", stage=Stage.MVP, actor=system_actor)
    assert mvp.stage is Stage.MVP and not mvp.ready


def test_tier_tuning_from_config_changes_what_blocks(session, system_actor):
    make_service(session, name="low", tier=3)
    make_service(session, name="high", tier=1)
    policies.set_policy(session, stage=Stage.PROD, actor=system_actor,
                         items={"dr_plan": {"tiers": {"3": "off"}}, "rollback_drilled": {"level": "recommended", "tiers": {"1": "required"}}})
    low = {i.check: i for i in evaluation.get_report(session, service="low", stage=Stage.PROD, actor=system_actor).items}
    high = {i.check: i for i in evaluation.get_report(session, service="high", stage=Stage.PROD, actor=system_actor).items}
    assert "dr_plan" not in low and "dr_plan" in high
    assert low["rollback_drilled"].level.value == "recommended" and not low["rollback_drilled"].blocking
    assert high["rollback_drilled"].level.value == "required" and high["rollback_drilled"].blocking


def test_a_recommended_item_failing_leaves_the_service_ready_with_warnings(session, system_actor):
    make_service(session, name="svc", stage="POC")
    policies.set_policy(session, stage=Stage.MVP, actor=system_actor,
                         items={c: "recommended" for c in ("real_persistence", "authentication", "happy_path_tested", "error_handling")})
    report = evaluation.get_report(session, service="svc", stage=Stage.MVP, actor=system_actor)
    assert report.ready and report.word == "ready with warnings"


def test_outsiders_may_not_read_a_team_s_readiness(session, personas):
    make_service(session, name="checkout")
    import pytest

    from watchkeeper.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        evaluation.get_report(session, service="checkout", actor=personas["carol"].actor)
    assert evaluation.get_report(session, service="checkout", actor=personas["bob"].actor).service == "checkout"
