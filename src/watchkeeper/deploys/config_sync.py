"""Reconcile the `deploys:` section of watchkeeper.yaml (per-service policies, freezes and
change windows) through the deploys services (the descriptor names RECONCILERS)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.deploys import freezes
from watchkeeper.deploys.schemas import FreezeCreate, ServiceDeployConfig
from watchkeeper.domain import Reconciler


def _policy_fields(p: ServiceDeployConfig) -> dict:
    return p.model_dump(mode="json", exclude_none=True)


def _freeze_fields(f: FreezeCreate) -> dict:
    return f.model_dump(mode="json", exclude_none=True)


def policies_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {p.service: (p.managed_by, _policy_fields(ServiceDeployConfig.model_validate(p.config)))
            for p in freezes.list_policies(session, actor=actor)}


def freezes_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {f.name: (f.managed_by, _freeze_fields(freezes.as_create(f))) for f in freezes.list_freezes(session, actor=actor)}


def policy_put(session: Session, fields: dict, actor: Actor) -> None:
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate(fields), actor=actor, managed_by="config")


def policy_update(session: Session, service: str, changes: dict, actor: Actor) -> None:
    have = policies_current(session, actor)[service][1]
    freezes.set_policy(session, data=ServiceDeployConfig.model_validate({**have, **changes}), actor=actor, managed_by="config")


def policy_delete(session: Session, service: str, actor: Actor) -> None:
    freezes.delete_policy(session, service=service, actor=actor)


def freeze_create(session: Session, fields: dict, actor: Actor) -> None:
    freezes.create_freeze(session, data=FreezeCreate.model_validate(fields), actor=actor, managed_by="config")


def freeze_update(session: Session, name: str, changes: dict, actor: Actor) -> None:
    have = freezes_current(session, actor)[name][1]
    freezes.update_freeze(session, data=FreezeCreate.model_validate({**have, **changes}), actor=actor)


def freeze_delete(session: Session, name: str, actor: Actor) -> None:
    freezes.delete_freeze(session, name=name, actor=actor)


RECONCILERS: list[Reconciler] = [
    Reconciler(kind="deploy_policy", section=("deploys", "services"),
               desired=lambda cfg: {p.service: _policy_fields(p) for p in cfg.deploys.services},
               current=policies_current, create=policy_put, update=policy_update, delete=policy_delete, ignore=("service",)),
    Reconciler(kind="deploy_freeze", section=("deploys", "freezes"),
               desired=lambda cfg: {f.name: _freeze_fields(f) for f in cfg.deploys.freezes},
               current=freezes_current, create=freeze_create, update=freeze_update, delete=freeze_delete, ignore=("name",)),
]
