"""What people add to the evidence: waivers (an item passes without its evidence until a date)
and attestations (a named person vouches, with a link to the proof, for an item Watchkeeper
cannot measure). Both expire within a year, are revoked with a reason, and may be owned by
watchkeeper.yaml; every change is audited and publishes ReadinessInputChanged.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.errors import InvalidInput, NotFound
from watchkeeper.evidence import Evidence, Status
from watchkeeper.readiness._checklist import Kind
from watchkeeper.readiness.errors import (
    AlreadyRevoked, AttestationNotFound, ConfigOwned, NotAttestable, WaiverExists, WaiverNotFound,
)
from watchkeeper.readiness.events import ReadinessInputChanged
from watchkeeper.readiness.models import Attestation, Waiver
from watchkeeper.readiness.policies import check_def
from watchkeeper.readiness.schemas import MAX_HORIZON, AttestationCreate, AttestationRead, WaiverCreate, WaiverRead

ATTESTATION_WARN = dt.timedelta(days=14)


# ---------------------------------------------------------------- shared by both


def _horizon(expires_at: dt.datetime, now: dt.datetime, *, what: str, allow_past: bool) -> dt.datetime:
    expires_at = clock.ensure_aware(expires_at)
    if expires_at <= now and not allow_past:
        raise InvalidInput(f"{what} expiry {expires_at:%Y-%m-%d %H:%M} UTC is not in the future; pick a later date",
                           field="expires_at")
    if expires_at > now + MAX_HORIZON:
        raise InvalidInput(f"{what} expiry {expires_at:%Y-%m-%d} is more than a year ahead; pick a nearer date and renew it",
                           field="expires_at")
    return expires_at


def _visible(session: Session, actor: Actor, service: str | None) -> dict[int, str]:
    """id → name of one service (permission-checked) or of all services the actor sees."""
    if service is not None:
        svc = catalog.lookup_service(session, name=service)
        require(actor, "readiness.read", team=svc.team, service=service)
        return {svc.id: svc.name}
    require(actor, "readiness.read")
    return {s.id: s.name for s in catalog.list_services(session, actor=actor)}


def _revoke(session: Session, model: type[Waiver] | type[Attestation], *, service: str, row_id: int, reason: str,
            actor: Actor, allow_config: bool, permission: str, not_found: NotFound) -> tuple[Waiver | Attestation, dt.datetime, bool]:
    """End a waiver or an attestation now, after the checks both share. Returns the row, the
    time and whether it was still active. The caller audits and publishes."""
    noun = model.__name__.lower()
    svc = catalog.lookup_service(session, name=service)
    row = session.get(model, row_id)
    if row is None or row.service_id != svc.id:
        raise not_found
    require(actor, permission, team=svc.team, service=service)
    if row.managed_by == "config" and not allow_config:
        raise ConfigOwned(f"{noun} {row_id} is owned by watchkeeper.yaml; remove it there and run `watchkeeper apply`")
    if row.revoked_at is not None:
        raise AlreadyRevoked(f"{noun} {row_id} was already revoked by {row.revoked_by}", code=f"readiness.{noun}_revoked")
    if not reason or len(reason.strip()) < 3:
        raise InvalidInput(f"revoking {'an' if noun[0] in 'aeiou' else 'a'} {noun} needs a reason", field="reason")
    now = clock.utcnow()
    active = row.expires_at > now
    row.revoked_at, row.revoked_by = now, actor.name
    return row, now, active


def _listed(session: Session, model: type[Waiver] | type[Attestation], since, *, actor: Actor, service: str | None,
            active_only: bool, managed_by: str | None, read) -> list:
    """Rows of `model`, newest (by `since`) first, of one service or of every service the actor sees."""
    now = clock.utcnow()
    names = _visible(session, actor, service)
    query = select(model).where(model.service_id.in_(list(names))).order_by(since.desc(), model.id.desc())
    if active_only:
        query = query.where(model.revoked_at.is_(None), model.expires_at > now)
    if managed_by:
        query = query.where(model.managed_by == managed_by)
    return [read(r, names[r.service_id], now) for r in session.execute(query).scalars()]


# ---------------------------------------------------------------- waivers


def waiver_read(row: Waiver, service: str, now: dt.datetime) -> WaiverRead:
    """The waiver as the API shows it (`active` as of `now`)."""
    return WaiverRead(id=row.id, service=service, check=row.check_id, reason=row.reason, granted_by=row.granted_by,
                      granted_at=row.granted_at, expires_at=row.expires_at, revoked_at=row.revoked_at,
                      revoked_by=row.revoked_by, revoke_reason=row.revoke_reason, managed_by=row.managed_by,
                      active=row.revoked_at is None and row.expires_at > now)


def grant_waiver(session: Session, *, service: str, data: WaiverCreate, actor: Actor, granted_by: str | None = None,
                 managed_by: str = "runtime") -> WaiverRead:
    """Let `service` pass item `data.check` without its evidence until the waiver expires.

    Raises ServiceNotFound; InvalidInput for an unknown check or an expiry that is past or
    more than a year ahead; WaiverExists when an active waiver already covers the item (a
    config-owned waiver supersedes a runtime one instead). Audited; publishes
    ReadinessInputChanged. Does not commit.
    """
    svc = catalog.lookup_service(session, name=service)
    require(actor, "readiness.waive", team=svc.team, service=service)
    check_def(session, data.check)
    now = clock.utcnow()
    expires_at = _horizon(data.expires_at or now + data.expires_in, now, what="waiver", allow_past=managed_by == "config")
    current = [w for w in session.execute(select(Waiver).where(
        Waiver.service_id == svc.id, Waiver.check_id == data.check, Waiver.revoked_at.is_(None), Waiver.expires_at > now,
    )).scalars()]
    for old in current:
        if managed_by != "config":
            raise WaiverExists(f"waiver {old.id} by {old.granted_by} already covers {service}/{data.check} until "
                               f"{old.expires_at:%Y-%m-%d}; revoke it first to change it")
        old.revoked_at, old.revoked_by, old.revoke_reason = now, actor.name, "superseded by watchkeeper.yaml"
    row = Waiver(service_id=svc.id, check_id=data.check, reason=data.reason, granted_by=granted_by or actor.name,
                 granted_at=now, expires_at=expires_at, managed_by=managed_by)
    session.add(row)
    session.flush()
    read = waiver_read(row, service, now)
    audit.record(session, actor=actor, action="readiness.waive", target=f"service:{service}",
                 after=read.model_dump(mode="json", include={"id", "check", "reason", "granted_by", "expires_at", "managed_by"}))
    events.publish(session, ReadinessInputChanged(service=service, check=data.check, action="waived"))
    return read


def revoke_waiver(session: Session, *, service: str, waiver_id: int, reason: str, actor: Actor,
                  allow_config: bool = False) -> WaiverRead:
    """End a waiver now; the item is judged on its evidence again. Config-owned waivers are
    removed by editing watchkeeper.yaml. Audited; publishes ReadinessInputChanged."""
    not_found = WaiverNotFound(f"service '{service}' has no waiver {waiver_id}; `watchkeeper readiness waivers {service}` lists them")
    row, now, active = _revoke(session, Waiver, service=service, row_id=waiver_id, reason=reason, actor=actor,
                               allow_config=allow_config, permission="readiness.waive", not_found=not_found)
    row.revoke_reason = reason
    session.flush()
    audit.record(session, actor=actor, action="readiness.unwaive", target=f"service:{service}",
                 before={"waiver": waiver_id, "check": row.check_id, "active": active},
                 after={"waiver": waiver_id, "active": False}, note=reason)
    events.publish(session, ReadinessInputChanged(service=service, check=row.check_id, action="unwaived"))
    return waiver_read(row, service, now)


def list_waivers(session: Session, *, actor: Actor, service: str | None = None, active_only: bool = False,
                 managed_by: str | None = None) -> list[WaiverRead]:
    """Waivers, newest first: of one service, or of every service the actor may see."""
    return _listed(session, Waiver, Waiver.granted_at, actor=actor, service=service, active_only=active_only,
                   managed_by=managed_by, read=waiver_read)


# ---------------------------------------------------------------- attestations


def attestation_read(row: Attestation, service: str, now: dt.datetime) -> AttestationRead:
    """The attestation as the API shows it (`active` as of `now`)."""
    return AttestationRead(id=row.id, service=service, check=row.check_id, attested_by=row.attested_by, link=row.link,
                           note=row.note, attested_at=row.attested_at, expires_at=row.expires_at,
                           recorded_by=row.recorded_by, revoked_at=row.revoked_at, revoked_by=row.revoked_by,
                           managed_by=row.managed_by, active=row.revoked_at is None and row.expires_at > now)


def attest(session: Session, *, service: str, data: AttestationCreate, actor: Actor, managed_by: str = "runtime") -> AttestationRead:
    """Record that a named person vouches for an item Watchkeeper cannot measure, with a link
    to the proof and an expiry. A newer attestation of the same item replaces the older one.

    Raises ServiceNotFound; InvalidInput for an unknown or measured check, an unknown person,
    or a bad expiry. Audited; publishes ReadinessInputChanged. Does not commit.
    """
    svc = catalog.lookup_service(session, name=service)
    require(actor, "readiness.attest", team=svc.team, service=service)
    cdef = check_def(session, data.check)
    if cdef.kind is not Kind.ATTESTATION:
        raise NotAttestable(f"'{data.check}' is measured by Watchkeeper ({cdef.owner}), so it cannot be attested; "
                            "fix the evidence or grant a waiver", field="check")
    person = data.by or (actor.name if actor.id is not None else None)
    if not person:
        raise InvalidInput("say who attests: pass --by HANDLE (a person from the catalog)", field="by")
    try:
        teams.lookup_person(session, handle=person)
    except NotFound:
        raise InvalidInput(f"unknown person '{person}'; attestations name a person from the catalog "
                           "(declare them under `people:` in watchkeeper.yaml)", field="by") from None
    now = clock.utcnow()
    expires_at = _horizon(data.expires_at or now + data.expires_in, now, what="attestation", allow_past=managed_by == "config")
    for old in session.execute(select(Attestation).where(
        Attestation.service_id == svc.id, Attestation.check_id == data.check, Attestation.revoked_at.is_(None),
    )).scalars():
        old.revoked_at, old.revoked_by = now, actor.name
    row = Attestation(service_id=svc.id, check_id=data.check, attested_by=person, link=str(data.link), note=data.note,
                      attested_at=now, expires_at=expires_at, recorded_by=actor.name, managed_by=managed_by)
    session.add(row)
    session.flush()
    read = attestation_read(row, service, now)
    audit.record(session, actor=actor, action="readiness.attest", target=f"service:{service}",
                 after=read.model_dump(mode="json", include={"id", "check", "attested_by", "link", "expires_at", "managed_by"}))
    events.publish(session, ReadinessInputChanged(service=service, check=data.check, action="attested"))
    return read


def revoke_attestation(session: Session, *, service: str, attestation_id: int, reason: str, actor: Actor,
                       allow_config: bool = False) -> AttestationRead:
    """Withdraw an attestation now; the item fails until someone attests again. Audited."""
    not_found = AttestationNotFound(f"service '{service}' has no attestation {attestation_id}")
    row, now, _ = _revoke(session, Attestation, service=service, row_id=attestation_id, reason=reason, actor=actor,
                          allow_config=allow_config, permission="readiness.attest", not_found=not_found)
    session.flush()
    audit.record(session, actor=actor, action="readiness.unattest", target=f"service:{service}",
                 before={"attestation": attestation_id, "check": row.check_id}, after={"attestation": attestation_id, "active": False},
                 note=reason)
    events.publish(session, ReadinessInputChanged(service=service, check=row.check_id, action="unattested"))
    return attestation_read(row, service, now)


def list_attestations(session: Session, *, actor: Actor, service: str | None = None, active_only: bool = False,
                      managed_by: str | None = None) -> list[AttestationRead]:
    """Attestations, newest first: of one service, or of every service the actor may see."""
    return _listed(session, Attestation, Attestation.attested_at, actor=actor, service=service, active_only=active_only,
                   managed_by=managed_by, read=attestation_read)


def attestation_evidence(row: Attestation | None, service: str, check: str, now: dt.datetime) -> Evidence:
    """The evidence an attestation item shows: fail without one, warn when it expires soon."""
    how = f"`watchkeeper readiness attest {service} {check} --by HANDLE --link URL --expires-in 90d`"
    if row is None:
        return Evidence(Status.FAIL, f"nobody has attested this yet; a named person attests with a link to the proof: {how}")
    details = {"attestation": row.id, "attested_by": row.attested_by, "expires_at": row.expires_at.isoformat()}
    if row.expires_at <= now:
        return Evidence(Status.FAIL, f"the attestation by {row.attested_by} expired on {row.expires_at:%Y-%m-%d}; attest again: {how}",
                        observed_at=row.attested_at, link=row.link, details=details)
    if row.expires_at - now <= ATTESTATION_WARN:
        return Evidence(Status.WARN, f"attested by {row.attested_by}, expires on {row.expires_at:%Y-%m-%d}; renew it soon",
                        observed_at=row.attested_at, link=row.link, details=details)
    return Evidence(Status.PASS, f"attested by {row.attested_by} until {row.expires_at:%Y-%m-%d}",
                    observed_at=row.attested_at, link=row.link, details=details)
