from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories.catalog import make_service
from watchkeeper.audit.models import AuditEvent
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.stages import Stage
from watchkeeper.catalog.errors import InvalidTransition, ServiceNotFound
from watchkeeper.catalog.schemas import ServiceUpdate, Targets
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from tests.factories.auth import SYSTEM


def _actions(session, target):
    return [e.action for e in session.execute(select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.seq)).scalars()]


def test_create_service_is_audited_and_readable(session, system_actor):
    svc = make_service(session, name="checkout", tier=1, targets=Targets(slo=99.9, slo_window="30d", rto="1h"))
    assert svc.stage == Stage.POC and svc.team == "payments"
    assert catalog.get_service(session, actor=SYSTEM, name="checkout").targets.rto.total_seconds() == 3600
    assert _actions(session, "service:checkout") == ["service.create"]


def test_duplicate_service_is_a_conflict(session):
    make_service(session, name="checkout")
    with pytest.raises(Conflict):
        make_service(session, name="checkout")


def test_dependency_cycle_is_refused_with_the_cycle_named(session, system_actor):
    make_service(session, name="db")
    make_service(session, name="api", depends_on=["db"])
    make_service(session, name="web", depends_on=["api"])
    with pytest.raises(InvalidInput) as exc:
        catalog.update_service(session, name="db", data=ServiceUpdate(depends_on=["web"]), actor=system_actor)
    assert "db → web → api → db" in exc.value.message
    assert catalog.get_service(session, actor=SYSTEM, name="db").depends_on == []


def test_dependents_are_listed_and_block_delete(session, system_actor):
    make_service(session, name="db")
    make_service(session, name="api", depends_on=["db"])
    assert catalog.get_service(session, actor=SYSTEM, name="db").dependents == ["api"]
    with pytest.raises(Conflict, match="api"):
        catalog.delete_service(session, name="db", actor=system_actor)


def test_promotion_skip_is_refused_naming_skipped_stages_and_risks(session, system_actor):
    make_service(session, name="demo")
    with pytest.raises(InvalidTransition) as exc:
        catalog.promote(session, name="demo", to=Stage.PROD, actor=system_actor)
    msg = exc.value.message
    assert "skip MVP" in msg and "MMP" in msg
    assert "security vulnerabilities" in msg and "data loss" in msg and "operational fragility" in msg
    assert "missing runbooks" in msg and "incident response gaps" in msg
    assert catalog.get_service(session, actor=SYSTEM, name="demo").stage == Stage.POC


def test_mvp_to_prod_names_the_mmp_risks(session, system_actor):
    make_service(session, name="demo", stage=Stage.MVP)
    with pytest.raises(InvalidTransition, match="poor user experience, missing features, support chaos"):
        catalog.promote(session, name="demo", to=Stage.PROD, actor=system_actor)


def test_one_step_promotions_walk_to_prod_and_are_recorded(session, system_actor):
    make_service(session, name="demo")
    for stage in (Stage.MVP, Stage.MMP, Stage.PROD):
        assert catalog.promote(session, name="demo", to=stage, actor=system_actor).stage == stage
    history = catalog.stage_history(session, actor=SYSTEM, name="demo")
    assert [(h.from_stage, h.to_stage) for h in history] == [(Stage.MMP, Stage.PROD), (Stage.MVP, Stage.MMP), (Stage.POC, Stage.MVP)]
    assert _actions(session, "service:demo").count("service.promote") == 3


def test_demotion_needs_a_reason_and_is_audited(session, system_actor):
    make_service(session, name="demo", stage=Stage.MMP)
    with pytest.raises(InvalidInput):
        catalog.demote(session, name="demo", to=Stage.POC, reason="", actor=system_actor)
    svc = catalog.demote(session, name="demo", to=Stage.POC, reason="data model rewrite", actor=system_actor)
    assert svc.stage == Stage.POC
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "service.demote")).scalar_one()
    assert event.note == "data model rewrite" and event.before == {"stage": "MMP"}


def test_gate_failures_block_promotion_unless_forced_by_admin(session, system_actor, personas):
    from watchkeeper.catalog import gate

    gate.register_gate("test", lambda s, *, service, target: [gate.GateFailure("backups", "no restore test")])
    try:
        make_service(session, name="checkout", stage=Stage.MMP)
        with pytest.raises(InvalidTransition, match="backups: no restore test"):
            catalog.promote(session, name="checkout", to=Stage.PROD, actor=system_actor)
        with pytest.raises(PermissionDenied):
            catalog.promote(session, name="checkout", to=Stage.PROD, actor=personas["alice"].actor, force=True, reason="launch")
        svc = catalog.promote(session, name="checkout", to=Stage.PROD, actor=personas["root"].actor, force=True, reason="launch day")
        assert svc.stage == Stage.PROD and svc.forced and svc.forced_reason == "launch day"
    finally:
        gate.unregister_gate("test")


def test_outsider_cannot_create_or_update_a_team_service(session, personas):
    make_service(session, name="checkout")
    with pytest.raises(PermissionDenied):
        catalog.update_service(session, name="checkout", data=ServiceUpdate(tier=1), actor=personas["carol"].actor)
    with pytest.raises(PermissionDenied):
        make_service(session, name="other", team="payments", actor=personas["bob"].actor)
    assert catalog.update_service(session, name="checkout", data=ServiceUpdate(tier=1), actor=personas["alice"].actor).tier == 1


def test_scoped_operator_sees_only_their_teams_services(session, personas):
    make_service(session, name="checkout", team="payments")
    make_service(session, name="finder", team="search")
    names = [s.name for s in catalog.list_services(session, actor=personas["alice"].actor)]
    assert names == ["checkout"]
    assert {s.name for s in catalog.list_services(session, actor=personas["root"].actor)} == {"checkout", "finder"}


def test_unknown_service_is_not_found(session):
    with pytest.raises(ServiceNotFound, match="service list"):
        catalog.get_service(session, actor=SYSTEM, name="nope")
