"""Stage policies: the checklist each stage asks of a service of each tier, after the tuning
watchkeeper.yaml stores (`policies:`), and the custom attestation items that tuning adds."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog.stages import Stage
from watchkeeper.errors import InvalidInput
from watchkeeper.readiness import _checklist
from watchkeeper.readiness._checklist import CHECKS
from watchkeeper.readiness.errors import UnknownCheck
from watchkeeper.readiness.models import Policy
from watchkeeper.readiness.schemas import PolicyItemRead, PolicyRead


def tuning_of(session: Session) -> dict[Stage, dict]:
    """Stage → the items tuning stored for it."""
    return {Stage(p.stage): p.items or {} for p in session.execute(select(Policy)).scalars()}


def known_checks(session: Session, tuning: dict[Stage, dict] | None = None) -> dict[str, _checklist.CheckDef]:
    """Built-in checks plus the custom attestation items config added to any stage."""
    tuning = tuning_of(session) if tuning is None else tuning
    out = dict(CHECKS)
    for items in tuning.values():
        for check, spec in items.items():
            if check not in out:
                out[check] = _checklist.check_def(check, spec)
    return out


def check_def(session: Session, check: str, *, field: str = "check") -> _checklist.CheckDef:
    """The definition of a known check. Raises UnknownCheck naming the known ones."""
    checks = known_checks(session)
    if check not in checks:
        raise UnknownCheck(f"unknown check '{check}'; checks are: {', '.join(sorted(checks))}", field=field)
    return checks[check]


def policy(session: Session, *, stage: Stage, actor: Actor, tier: int = 3) -> PolicyRead:
    """The checklist `stage` asks of a service of `tier`, after config tuning. Raises
    PermissionDenied."""
    require(actor, "readiness.read")
    row = session.execute(select(Policy).where(Policy.stage == stage.value)).scalar_one_or_none()
    items = _checklist.resolve_policy(stage, tier, row.items if row else None)
    return PolicyRead(stage=stage, tier=tier, tuning=row.items if row else {}, managed_by=row.managed_by if row else None,
                      items=[PolicyItemRead(**dataclasses.asdict(i)) for i in items])


def policy_tuning(session: Session) -> dict[str, dict]:
    """Stage → tuning, as stored by `apply` (for the config reconciler)."""
    return {stage.value: items for stage, items in tuning_of(session).items()}


def set_policy(session: Session, *, stage: Stage, items: dict, actor: Actor) -> None:
    """Store config tuning for one stage's checklist (apply calls this). Audited. Does not commit."""
    require(actor, "readiness.policy")
    items = {check: ({"level": spec} if isinstance(spec, str) else dict(spec)) for check, spec in items.items()}
    for check, spec in items.items():
        try:
            _checklist.resolve_policy(stage, 3, {check: spec})
        except ValueError as exc:
            raise InvalidInput(f"policies.{stage.value}.{check}: {exc}; levels are required, recommended, off",
                               field="policies") from None
    row = session.execute(select(Policy).where(Policy.stage == stage.value)).scalar_one_or_none()
    before = row.items if row else None
    if row is None:
        row = Policy(stage=stage.value, items=items, managed_by="config")
        session.add(row)
    elif row.items == items:
        return
    else:
        row.items = items
    session.flush()
    audit.record(session, actor=actor, action="readiness.policy", target=f"policy:{stage.value}", before=before, after=items)


def delete_policy(session: Session, *, stage: Stage, actor: Actor) -> None:
    """Drop config tuning of a stage: its checklist goes back to the defaults. Audited."""
    require(actor, "readiness.policy")
    row = session.execute(select(Policy).where(Policy.stage == stage.value)).scalar_one_or_none()
    if row is not None:
        before = row.items
        session.delete(row)
        session.flush()
        audit.record(session, actor=actor, action="readiness.policy_reset", target=f"policy:{stage.value}", before=before)

