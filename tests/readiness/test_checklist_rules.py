"""Pure checklist rules: policies per stage and tier, and how evidence, waivers and levels combine."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.catalog.stages import Stage
from watchkeeper.evidence import Status
from watchkeeper.readiness._checklist import CHECKS, DEFAULT_POLICIES, Kind, Level, WaiverInfo, outcome, resolve_policy

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
PROD_IDS = ["audits_complete", "monitoring_active", "alerting_active", "backup_restore_tested", "runbook_reviewed",
            "oncall_coverage", "refine_signoff", "rollback_drilled", "slo_achievable", "incident_process", "dr_plan"]


def test_prod_checklist_is_the_operational_readiness_checklist():
    items = resolve_policy(Stage.PROD, 1)
    assert [i.check for i in items] == PROD_IDS
    assert all(i.level is Level.REQUIRED for i in items)


def test_mvp_items_are_attestations_and_mmp_mixes_measured_and_attested():
    assert {i.check for i in resolve_policy(Stage.MVP, 3)} == {"real_persistence", "authentication", "happy_path_tested",
                                                              "error_handling"}
    assert all(i.kind is Kind.ATTESTATION for i in resolve_policy(Stage.MVP, 3))
    mmp = {i.check: i.kind for i in resolve_policy(Stage.MMP, 3)}
    assert mmp["monitoring_active"] is Kind.MEASURED and mmp["load_test"] is Kind.ATTESTATION
    assert resolve_policy(Stage.POC, 3) == []


def test_every_default_item_is_a_known_check():
    for stage, items in DEFAULT_POLICIES.items():
        for check, _ in items:
            assert check in CHECKS, (stage, check)


levels = st.sampled_from([Level.REQUIRED, Level.RECOMMENDED, Level.OFF])
tiers = st.integers(min_value=1, max_value=3)


@given(tier=tiers, item_level=st.none() | levels, tier_level=st.none() | levels, check=st.sampled_from(PROD_IDS))
def test_tier_tuning_beats_item_level_which_beats_the_default(tier, item_level, tier_level, check):
    spec = {}
    if item_level is not None:
        spec["level"] = item_level.value
    if tier_level is not None:
        spec["tiers"] = {str(tier): tier_level.value}
    items = {i.check: i.level for i in resolve_policy(Stage.PROD, tier, {check: spec})}
    expected = tier_level or item_level or Level.REQUIRED
    if expected is Level.OFF:
        assert check not in items
    else:
        assert items[check] is expected
    # Other tiers are untouched by this tier's entry.
    other = 1 if tier != 1 else 2
    other_items = {i.check: i.level for i in resolve_policy(Stage.PROD, other, {check: spec})}
    assert other_items.get(check, Level.OFF) is (item_level or Level.REQUIRED)


def test_custom_items_are_attestations_appended_after_the_defaults():
    items = resolve_policy(Stage.PROD, 2, {"pentest": {"title": "External penetration test"}})
    assert items[-1].check == "pentest" and items[-1].kind is Kind.ATTESTATION and items[-1].title == "External penetration test"


statuses = st.sampled_from(list(Status))
waivers = st.none() | st.builds(lambda days: WaiverInfo(1, "alice", "because", NOW + dt.timedelta(days=days)),
                                st.integers(min_value=-30, max_value=30).filter(lambda d: d != 0))


@given(level=levels.filter(lambda lv: lv is not Level.OFF), status=statuses, waiver=waivers)
def test_outcome_rules(level, status, waiver):
    result = outcome(level, status, waiver, NOW)
    evidence_passes = status in (Status.PASS, Status.WARN)
    waiver_active = waiver is not None and waiver.expires_at > NOW
    assert result.passing == (evidence_passes or waiver_active)
    assert result.waived == (not evidence_passes and waiver_active)
    assert result.blocking == (not result.passing and level is Level.REQUIRED)
    assert result.word == ("waived" if result.waived else status.value)


@given(status=st.sampled_from([Status.FAIL, Status.UNKNOWN]), days=st.integers(min_value=1, max_value=400))
def test_an_expired_waiver_never_lets_a_failing_item_pass(status, days):
    expired = WaiverInfo(7, "alice", "temporary", NOW - dt.timedelta(days=days))
    result = outcome(Level.REQUIRED, status, expired, NOW)
    assert not result.passing and result.blocking
