"""What `watchkeeper apply` needs to reconcile the `readiness:` section of watchkeeper.yaml:
for each kind, the desired objects (from the file), the current config-owned ones, and
create/update/delete through the service layers (so every change is checked and audited).

RECONCILERS below (named by the readiness descriptor) is what configfile/plan.py runs. Stakeholder roles and stage policies exist
only in config; waivers and attestations from the file are marked managed_by="config" and
are revoked (kept on record), not deleted, when they leave the file. Sign-offs and runtime
waivers or attestations are never touched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog.stages import Stage
from watchkeeper.domain import Reconciler
from watchkeeper.readiness import policies, waivers
from watchkeeper.readiness.schemas import AttestationCreate, ReadinessConfig, WaiverCreate, as_datetime
from watchkeeper.signoffs import service as signoffs
from watchkeeper.signoffs.schemas import StakeholderRoleCreate

REMOVED = "removed from watchkeeper.yaml"


# ---------------------------------------------------------------- stakeholder roles


def roles_desired(section: ReadinessConfig) -> dict[str, dict]:
    return {r.name: r.model_dump(mode="json") | {"required_for": sorted(set(r.required_for)), "people": sorted(set(r.people))}
            for r in section.stakeholder_roles}


def roles_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {r.name: (r.managed_by, r.model_dump(mode="json", exclude={"managed_by"})) for r in signoffs.list_roles(session, actor=actor)}


def role_create(session: Session, fields: dict, actor: Actor) -> None:
    signoffs.create_role(session, data=StakeholderRoleCreate.model_validate(fields), actor=actor)


def role_update(session: Session, name: str, changes: dict, actor: Actor) -> None:
    _, have = roles_current(session, actor)[name]
    signoffs.update_role(session, name=name, data=StakeholderRoleCreate.model_validate(have | changes), actor=actor)


def role_delete(session: Session, name: str, actor: Actor) -> None:
    signoffs.delete_role(session, name=name, actor=actor)


# ---------------------------------------------------------------- stage policies


def policies_desired(section: ReadinessConfig) -> dict[str, dict]:
    return {stage.value: {"stage": stage.value, "items": items} for stage, items in section.tuning().items()}


def policies_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    require(actor, "readiness.read")
    return {stage: ("config", {"stage": stage, "items": items}) for stage, items in policies.policy_tuning(session).items()}


def policy_create(session: Session, fields: dict, actor: Actor) -> None:
    policy_set(session, fields["stage"], fields, actor)


def policy_set(session: Session, stage: str, fields: dict, actor: Actor) -> None:
    policies.set_policy(session, stage=Stage(stage), items=fields.get("items") or {}, actor=actor)


def policy_delete(session: Session, stage: str, actor: Actor) -> None:
    policies.delete_policy(session, stage=Stage(stage), actor=actor)


# ---------------------------------------------------------------- waivers


def waivers_desired(section: ReadinessConfig) -> dict[str, dict]:
    return {f"{w.service}/{w.check}": {"service": w.service, "check": w.check, "reason": w.reason,
                                        "granted_by": w.granted_by, "expires": as_datetime(w.expires).isoformat()}
            for w in section.waivers}


def waivers_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    out: dict[str, tuple[str, dict]] = {}
    for w in reversed(waivers.list_waivers(session, actor=actor, managed_by="config")):
        if w.revoked_at is None:  # oldest first, so the newest of a pair wins
            out[f"{w.service}/{w.check}"] = ("config", {"service": w.service, "check": w.check, "reason": w.reason,
                                                        "granted_by": w.granted_by, "expires": w.expires_at.isoformat()})
    return out


def waiver_create(session: Session, fields: dict, actor: Actor) -> None:
    waivers.grant_waiver(
        session, service=fields["service"], actor=actor, granted_by=fields["granted_by"], managed_by="config",
        data=WaiverCreate(check=fields["check"], reason=fields["reason"], expires_at=fields["expires"]),
    )


def _revoke_config_waivers(session: Session, key: str, actor: Actor, reason: str) -> None:
    service, check = key.split("/", 1)
    for w in waivers.list_waivers(session, actor=actor, service=service, managed_by="config"):
        if w.check == check and w.revoked_at is None:
            waivers.revoke_waiver(session, service=service, waiver_id=w.id, reason=reason, actor=actor, allow_config=True)


def waiver_update(session: Session, key: str, changes: dict, actor: Actor) -> None:
    _, have = waivers_current(session, actor)[key]
    _revoke_config_waivers(session, key, actor, "changed in watchkeeper.yaml")
    waiver_create(session, have | changes, actor)


def waiver_delete(session: Session, key: str, actor: Actor) -> None:
    _revoke_config_waivers(session, key, actor, REMOVED)


# ---------------------------------------------------------------- attestations


def attestations_desired(section: ReadinessConfig) -> dict[str, dict]:
    return {f"{a.service}/{a.check}": {"service": a.service, "check": a.check, "by": a.by, "link": str(a.link),
                                        "note": a.note, "expires": as_datetime(a.expires).isoformat()}
            for a in section.attestations}


def attestations_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    out: dict[str, tuple[str, dict]] = {}
    for a in reversed(waivers.list_attestations(session, actor=actor, managed_by="config")):
        if a.revoked_at is None:
            out[f"{a.service}/{a.check}"] = ("config", {"service": a.service, "check": a.check, "by": a.attested_by,
                                                        "link": a.link, "note": a.note, "expires": a.expires_at.isoformat()})
    return out


def attestation_create(session: Session, fields: dict[str, Any], actor: Actor) -> None:
    waivers.attest(
        session, service=fields["service"], actor=actor, managed_by="config",
        data=AttestationCreate(check=fields["check"], by=fields["by"], link=fields["link"], note=fields.get("note"),
                               expires_at=fields["expires"]),
    )


def attestation_update(session: Session, key: str, changes: dict, actor: Actor) -> None:
    _, have = attestations_current(session, actor)[key]
    attestation_create(session, have | changes, actor)  # a newer attestation replaces the older one


def attestation_delete(session: Session, key: str, actor: Actor) -> None:
    service, check = key.split("/", 1)
    for a in waivers.list_attestations(session, actor=actor, service=service, managed_by="config"):
        if a.check == check and a.revoked_at is None:
            waivers.revoke_attestation(session, service=service, attestation_id=a.id, reason=REMOVED, actor=actor,
                                         allow_config=True)


# Roles and stage policies first (waivers and attestations may name custom items).
RECONCILERS: list[Reconciler] = [
    Reconciler(kind="stakeholder_role", section=("readiness", "stakeholder_roles"), desired=lambda cfg: roles_desired(cfg.readiness),
               current=roles_current, create=role_create, update=role_update, delete=role_delete, ignore=("name",)),
    Reconciler(kind="readiness_policy", section=("readiness", "policies"), desired=lambda cfg: policies_desired(cfg.readiness),
               current=policies_current, create=policy_create, update=policy_set, delete=policy_delete, ignore=("stage",)),
    Reconciler(kind="waiver", section=("readiness", "waivers"), desired=lambda cfg: waivers_desired(cfg.readiness),
               current=waivers_current, create=waiver_create, update=waiver_update, delete=waiver_delete),
    Reconciler(kind="attestation", section=("readiness", "attestations"), desired=lambda cfg: attestations_desired(cfg.readiness),
               current=attestations_current, create=attestation_create, update=attestation_update, delete=attestation_delete),
]
