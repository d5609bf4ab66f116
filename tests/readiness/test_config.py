"""The `readiness:` section of watchkeeper.yaml: validated with positions, applied through the
service layers, idempotent; waivers and attestations from the file are revoked (kept on
record) when removed; sign-offs are never touched by apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.catalog.stages import Stage
from watchkeeper.configfile import loader, plan
from watchkeeper.errors import Conflict
from watchkeeper.readiness import evaluation, waivers
from watchkeeper.signoffs import service as signoffs
from tests.factories.readiness import sign
from tests.factories.auth import SYSTEM

DATA = Path(__file__).parent / "testdata"


def _apply(session, actor, text: str, *, prune: bool = False):
    return plan.apply(session, loader.load_text(text, file="watchkeeper.yaml"), actor=actor, prune=prune)


def _good() -> str:
    return (DATA / "readiness-good.yaml").read_text()


def test_the_section_is_applied_through_the_service_layers_and_twice_changes_nothing(session, system_actor, frozen_clock):
    result = _apply(session, system_actor, _good())
    kinds = {(c.kind, c.name) for c in result.changes if c.action == "create"}
    assert {("stakeholder_role", "product-owner"), ("readiness_policy", "PROD"), ("waiver", "api/backup_restore_tested"),
            ("attestation", "api/pentest")} <= kinds
    assert _apply(session, system_actor, _good()).empty
    items = {i.check: i for i in evaluation.get_report(session, service="api", stage=Stage.PROD, actor=system_actor).items}
    assert items["dr_plan"].level.value == "recommended"
    assert "rollback_drilled" not in items  # off for tier 3
    assert items["pentest"].word == "pass" and "attested by ann" in items["pentest"].reason
    assert items["backup_restore_tested"].word == "waived"
    assert items["backup_restore_tested"].waiver.granted_by == "ann"
    assert items["backup_restore_tested"].waiver.managed_by == "config"
    assert signoffs.list_roles(session, actor=SYSTEM)[0].people == ["pat"]


def test_changing_and_removing_config_waivers_keeps_history_and_leaves_signoffs_alone(session, system_actor, frozen_clock):
    _apply(session, system_actor, _good())
    sign(session, "api", role="product-owner", signer="pat")
    changed = _good().replace("expires: 2026-06-30", "expires: 2026-07-31")
    result = _apply(session, system_actor, changed)
    assert [(c.action, c.kind) for c in result.changes if c.action != "note"] == [("update", "waiver")]
    rows = waivers.list_waivers(session, service="api", actor=system_actor)
    assert [(w.expires_at.month, w.revoked_at is None) for w in rows] == [(7, True), (6, False)]
    removed = changed.split("  waivers:")[0] + "  waivers: []\n  attestations:" + changed.split("  attestations:")[1]
    _apply(session, system_actor, removed)  # without --prune: kept
    assert any(w.revoked_at is None for w in waivers.list_waivers(session, service="api", actor=system_actor))
    _apply(session, system_actor, removed, prune=True)
    assert all(w.revoked_at is not None for w in waivers.list_waivers(session, service="api", actor=system_actor))
    assert rows[0].id in {w.id for w in waivers.list_waivers(session, service="api", actor=system_actor)}
    assert len(signoffs.list_signoffs(session, actor=SYSTEM, service="api")) == 1  # runtime sign-offs are never touched


def test_config_waivers_cannot_be_revoked_at_run_time(session, system_actor, frozen_clock):
    _apply(session, system_actor, _good())
    waiver = waivers.list_waivers(session, service="api", actor=system_actor)[0]
    with pytest.raises(Conflict, match="owned by watchkeeper.yaml"):
        waivers.revoke_waiver(session, service="api", waiver_id=waiver.id, reason="nope", actor=system_actor)


def test_a_config_waiver_supersedes_a_runtime_one(session, system_actor, frozen_clock):
    text = _good()
    _apply(session, system_actor, text.split("  waivers:")[0] + "  attestations:" + text.split("  attestations:")[1])
    from tests.factories.readiness import waive

    runtime = waive(session, "api", "backup_restore_tested")
    _apply(session, system_actor, text)
    rows = {w.id: w for w in waivers.list_waivers(session, service="api", actor=system_actor)}
    assert rows[runtime.id].revoke_reason == "superseded by watchkeeper.yaml"
    assert [w.managed_by for w in rows.values() if w.active] == ["config"]


def test_bad_readiness_config_is_reported_with_file_positions():
    with pytest.raises(loader.ConfigInvalid) as info:
        loader.load_file(DATA / "readiness-bad.yaml")
    text = str(info.value)
    assert "readiness-bad.yaml:4:" in text and "policies.PROD.backups: unknown check; known checks:" in text
    assert "readiness.waivers[0].reason" in text and "at least 10 characters" in text


def test_the_example_config_validates_with_the_section(session, system_actor):
    from watchkeeper.configfile.schema import json_schema

    schema = json_schema()
    assert "readiness" in schema["properties"]
