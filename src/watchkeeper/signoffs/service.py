"""Stakeholder roles (from config) and sign-offs (runtime, revocable, never deleted)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from watchkeeper.signoffs.events import SignoffChanged
from watchkeeper.signoffs.models import Signoff, StakeholderRole
from watchkeeper.signoffs.schemas import (
    CHECKPOINTS, SignoffCreate, SignoffRead, StakeholderRoleCreate, StakeholderRoleRead,
)


class SignoffNotFound(NotFound):
    code = "signoff.not_found"


# ---------------------------------------------------------------- stakeholder roles


def _role_read(row: StakeholderRole) -> StakeholderRoleRead:
    return StakeholderRoleRead(name=row.name, description=row.description, required_for=sorted(row.required_for or []),
                               people=sorted(row.people or []), managed_by=row.managed_by)


def list_roles(session: Session, *, actor: Actor) -> list[StakeholderRoleRead]:
    """Stakeholder roles, for an actor who may read sign-offs."""
    require(actor, "signoff.read")
    return roles(session)


def roles(session: Session) -> list[StakeholderRoleRead]:
    """Stakeholder roles, for readiness evidence and config reconciliation (no check here)."""
    return [_role_read(r) for r in session.execute(select(StakeholderRole).order_by(StakeholderRole.name)).scalars()]


def checkpoints(session: Session, *, actor: Actor) -> list[str]:
    """Known checkpoints: refine, launch, and any a role is required for."""
    require(actor, "signoff.read")
    return _checkpoints(session)


def _checkpoints(session: Session) -> list[str]:
    names = set(CHECKPOINTS)
    for role in roles(session):
        names.update(role.required_for)
    return sorted(names)


def _role(session: Session, name: str) -> StakeholderRole:
    row = session.execute(select(StakeholderRole).where(StakeholderRole.name == name)).scalar_one_or_none()
    if row is None:
        known = ", ".join(r.name for r in roles(session))
        hint = f"roles from watchkeeper.yaml: {known}" if known else \
            "no stakeholder roles are defined yet; declare readiness.stakeholder_roles in watchkeeper.yaml and apply"
        raise InvalidInput(f"unknown stakeholder role '{name}'; {hint}", field="role", code="signoff.unknown_role")
    return row


def create_role(session: Session, *, data: StakeholderRoleCreate, actor: Actor, managed_by: str = "config") -> StakeholderRoleRead:
    """Declare a stakeholder role. Raises Conflict if it exists. Audited. Does not commit."""
    require(actor, "stakeholder.manage")
    if session.execute(select(StakeholderRole.id).where(StakeholderRole.name == data.name)).first():
        raise Conflict(f"stakeholder role '{data.name}' already exists", code="stakeholder.exists", field="name")
    row = StakeholderRole(name=data.name, description=data.description, required_for=sorted(set(data.required_for)),
                          people=sorted(set(data.people)), managed_by=managed_by)
    session.add(row)
    session.flush()
    read = _role_read(row)
    audit.record(session, actor=actor, action="stakeholder.create", target=f"stakeholder:{data.name}", after=read)
    return read


def update_role(session: Session, *, name: str, data: StakeholderRoleCreate, actor: Actor) -> StakeholderRoleRead:
    require(actor, "stakeholder.manage")
    row = _role(session, name)
    before = _role_read(row).model_dump(mode="json")
    row.description = data.description
    row.required_for = sorted(set(data.required_for))
    row.people = sorted(set(data.people))
    session.flush()
    after = _role_read(row)
    changes.record_update(session, actor=actor, action="stakeholder.update", target=f"stakeholder:{name}",
                          before=before, after=after.model_dump(mode="json"))
    return after


def delete_role(session: Session, *, name: str, actor: Actor) -> None:
    """Remove a role. Its past sign-offs stay on record but no longer count. Audited."""
    require(actor, "stakeholder.manage")
    row = _role(session, name)
    before = _role_read(row)
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="stakeholder.delete", target=f"stakeholder:{name}", before=before)


# ---------------------------------------------------------------- sign-offs


def _read(row: Signoff, service: str) -> SignoffRead:
    return SignoffRead(
        id=row.id, service=service, checkpoint=row.checkpoint, role=row.role, signer=row.signer, note=row.note,
        signed_at=row.signed_at, recorded_by=row.recorded_by, revoked_at=row.revoked_at, revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
    )


def sign_off(session: Session, *, service: str, data: SignoffCreate, actor: Actor) -> SignoffRead:
    """Record that `data.signer` (default: the actor), holding stakeholder role `data.role`,
    signs off `data.checkpoint` of `service`.

    Raises ServiceNotFound; InvalidInput for an unknown role or checkpoint; PermissionDenied
    when the signer may not sign for the role, or the actor signs for someone else without
    signoff.delegate; Conflict when the same person already signed this checkpoint in this
    role. Audited; publishes SignoffChanged. Does not commit.
    """
    svc = catalog.lookup_service(session, name=service)
    require(actor, "signoff.create", team=svc.team, service=service)
    known = _checkpoints(session)
    if data.checkpoint not in known:
        raise InvalidInput(f"unknown checkpoint '{data.checkpoint}'; checkpoints are: {', '.join(known)}",
                           field="checkpoint", code="signoff.unknown_checkpoint")
    role = _role(session, data.role)
    # A system actor (the CLI on the server) is "cli:<os user>": the person is the OS user.
    default = actor.name if actor.id is not None else actor.name.split(":", 1)[-1]
    signer = (data.signer or default).strip()
    if not signer:
        raise InvalidInput("the signer is empty; pass the person's handle", field="signer")
    if actor.id is not None and signer != actor.name:
        require(actor, "signoff.delegate", team=svc.team, service=service)
    if role.people and signer not in role.people:
        raise PermissionDenied(
            f"'{signer}' may not sign as '{role.name}'; people allowed: {', '.join(role.people)} (readiness.stakeholder_roles)",
            code="signoff.not_a_stakeholder",
        )
    duplicate = session.execute(select(Signoff.id).where(
        Signoff.service_id == svc.id, Signoff.checkpoint == data.checkpoint, Signoff.role == role.name,
        Signoff.signer == signer, Signoff.revoked_at.is_(None),
    )).first()
    if duplicate:
        raise Conflict(f"{signer} already signed off '{service}' at {data.checkpoint} as {role.name} (sign-off {duplicate[0]})",
                       code="signoff.exists")
    row = Signoff(service_id=svc.id, checkpoint=data.checkpoint, role=role.name, signer=signer, note=data.note,
                  signed_at=clock.utcnow(), recorded_by=actor.name)
    session.add(row)
    session.flush()
    read = _read(row, service)
    audit.record(session, actor=actor, action="signoff.create", target=f"service:{service}",
                 after=read.model_dump(mode="json", exclude={"revoked_at", "revoked_by", "revoke_reason", "service"}))
    events.publish(session, SignoffChanged(service=service, checkpoint=data.checkpoint, action="recorded"))
    return read


def revoke(session: Session, *, service: str, signoff_id: int, reason: str, actor: Actor) -> SignoffRead:
    """Withdraw a sign-off: it stays on record, marked revoked, and no longer counts.

    The signer may revoke their own; anyone else needs signoff.revoke. Audited; publishes
    SignoffChanged. Does not commit.
    """
    svc = catalog.lookup_service(session, name=service)
    row = session.get(Signoff, signoff_id)
    if row is None or row.service_id != svc.id:
        raise SignoffNotFound(f"service '{service}' has no sign-off {signoff_id}; `watchkeeper signoff list {service}` shows them")
    if actor.name != row.signer:
        require(actor, "signoff.revoke", team=svc.team, service=service)
    if row.revoked_at is not None:
        raise Conflict(f"sign-off {signoff_id} was already revoked by {row.revoked_by}", code="signoff.revoked")
    if not reason or len(reason.strip()) < 3:
        raise InvalidInput("revoking a sign-off needs a reason", field="reason")
    row.revoked_at, row.revoked_by, row.revoke_reason = clock.utcnow(), actor.name, reason
    session.flush()
    audit.record(session, actor=actor, action="signoff.revoke", target=f"service:{service}",
                 before={"signoff": signoff_id, "active": True}, after={"signoff": signoff_id, "active": False}, note=reason)
    events.publish(session, SignoffChanged(service=service, checkpoint=row.checkpoint, action="revoked"))
    return _read(row, service)


def list_signoffs(session: Session, *, service: str, actor: Actor, include_revoked: bool = True) -> list[SignoffRead]:
    """A service's sign-offs, newest first. Raises ServiceNotFound, PermissionDenied."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "signoff.read", team=svc.team, service=service)
    query = select(Signoff).where(Signoff.service_id == svc.id).order_by(Signoff.signed_at.desc(), Signoff.id.desc())
    if not include_revoked:
        query = query.where(Signoff.revoked_at.is_(None))
    return [_read(r, service) for r in session.execute(query).scalars()]


def active_signoffs(session: Session, *, service_ids: list[int], checkpoint: str) -> dict[int, list[Signoff]]:
    """Active sign-offs of one checkpoint for many services, newest first (for evidence)."""
    out: dict[int, list[Signoff]] = {sid: [] for sid in service_ids}
    if not service_ids:
        return out
    rows = session.execute(
        select(Signoff).where(Signoff.service_id.in_(service_ids), Signoff.checkpoint == checkpoint,
                              Signoff.revoked_at.is_(None)).order_by(Signoff.signed_at.desc())
    ).scalars()
    for row in rows:
        out[row.service_id].append(row)
    return out
