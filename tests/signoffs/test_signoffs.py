"""Sign-offs: stakeholder roles from config, who may sign, revocation, and the refine/launch evidence."""

from __future__ import annotations

import pytest

from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from watchkeeper.errors import Conflict, InvalidInput, PermissionDenied
from watchkeeper.evidence import Status
from watchkeeper.signoffs import evidence
from watchkeeper.signoffs import service as signoffs
from watchkeeper.signoffs.schemas import SignoffCreate
from tests.factories.catalog import make_service
from tests.factories.readiness import make_role, sign
from tests.factories.auth import SYSTEM as AUDIT_READER  # the audit log is for admins and auditors
from tests.factories.auth import SYSTEM


def test_refine_needs_every_required_role(session, system_actor):
    svc = make_service(session, name="svc")
    ev = evidence.refine_signoff(session, svc)
    assert ev.status is Status.FAIL and "no stakeholder roles are defined" in ev.reason
    make_role(session, "product-owner", required_for=["refine"])
    make_role(session, "security", required_for=["refine", "launch"])
    make_role(session, "support", required_for=[])
    sign(session, "svc", role="product-owner", signer="pat")
    ev = evidence.refine_signoff(session, svc)
    assert ev.status is Status.FAIL and "lacks a sign-off from security" in ev.reason
    assert "--role security" in ev.reason
    sign(session, "svc", role="security", signer="sam")
    ev = evidence.refine_signoff(session, svc)
    assert ev.status is Status.PASS and "pat (product-owner)" in ev.reason and "sam (security)" in ev.reason
    # The launch checkpoint (MMP) is separate.
    assert evidence.stakeholder_signoff(session, svc).status is Status.FAIL


def test_without_required_roles_any_stakeholder_sign_off_passes(session):
    svc = make_service(session, name="svc")
    make_role(session, "product-owner", required_for=[])
    assert evidence.stakeholder_signoff(session, svc).status is Status.FAIL
    sign(session, "svc", checkpoint="launch", role="product-owner")
    assert evidence.stakeholder_signoff(session, svc).status is Status.PASS


def test_revoking_a_sign_off_keeps_it_on_record_and_fails_the_item(session, personas):
    svc = make_service(session, name="checkout")
    make_role(session)
    bob = personas["bob"].actor
    row = signoffs.sign_off(session, service="checkout", actor=bob,
                            data=SignoffCreate(checkpoint="refine", role="product-owner", note="scope and risks reviewed"))
    assert row.signer == "bob" and row.recorded_by == "bob"
    assert evidence.refine_signoff(session, svc).status is Status.PASS
    with pytest.raises(PermissionDenied):
        signoffs.revoke(session, service="checkout", signoff_id=row.id, reason="not mine", actor=personas["carol"].actor)
    signoffs.revoke(session, service="checkout", signoff_id=row.id, reason="scope changed", actor=bob)
    assert evidence.refine_signoff(session, svc).status is Status.FAIL
    rows = signoffs.list_signoffs(session, actor=SYSTEM, service="checkout")
    assert len(rows) == 1 and not rows[0].active and rows[0].revoke_reason == "scope changed"
    actions = [e.action for e in audit.list_events(session, filter=AuditFilter(action="signoff."), actor=AUDIT_READER)]
    assert actions[:2] == ["signoff.revoke", "signoff.create"]
    with pytest.raises(Conflict):
        signoffs.revoke(session, service="checkout", signoff_id=row.id, reason="again", actor=bob)


def test_unknown_roles_and_checkpoints_are_refused_with_the_known_ones(session, system_actor):
    make_service(session, name="svc")
    make_role(session, "product-owner")
    with pytest.raises(InvalidInput, match="unknown stakeholder role 'cfo'; roles from watchkeeper.yaml: product-owner"):
        sign(session, "svc", role="cfo")
    with pytest.raises(InvalidInput, match="unknown checkpoint 'refnie'; checkpoints are: launch, refine"):
        sign(session, "svc", checkpoint="refnie")


def test_role_people_restrict_who_may_sign_and_duplicates_conflict(session, system_actor):
    make_service(session, name="svc")
    make_role(session, "security", people=["sam"])
    with pytest.raises(PermissionDenied, match="'pat' may not sign as 'security'; people allowed: sam"):
        sign(session, "svc", role="security", signer="pat")
    sign(session, "svc", role="security", signer="sam")
    with pytest.raises(Conflict, match="already signed off"):
        sign(session, "svc", role="security", signer="sam")


def test_signing_for_someone_else_needs_delegation(session, personas):
    make_service(session, name="checkout")
    make_role(session)
    data = SignoffCreate(checkpoint="refine", role="product-owner", note="on behalf of pat", signer="pat")
    with pytest.raises(PermissionDenied, match="signoff.delegate"):
        signoffs.sign_off(session, service="checkout", data=data, actor=personas["bob"].actor)
    assert signoffs.sign_off(session, service="checkout", data=data, actor=personas["alice"].actor).signer == "pat"
    with pytest.raises(PermissionDenied):
        signoffs.sign_off(session, service="checkout", actor=personas["carol"].actor,
                          data=SignoffCreate(checkpoint="refine", role="product-owner", note="outsider"))


def test_cli_system_actor_signs_as_the_os_user(session):
    from watchkeeper.auth.service import Actor

    make_service(session, name="svc")
    make_role(session)
    row = signoffs.sign_off(session, service="svc", actor=Actor.system("cli:dana", "cli"),
                            data=SignoffCreate(checkpoint="refine", role="product-owner", note="looks good"))
    assert row.signer == "dana" and row.recorded_by == "cli:dana"
