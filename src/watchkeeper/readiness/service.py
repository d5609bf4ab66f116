"""The readiness engine: evaluate stage checklists from live evidence, gate promotions,
grant waivers, record attestations, keep each item's history and raise regressions.

Evidence comes from providers registered in `registry` by app.wire(); readiness never
imports the domains that own it. Evaluation is batched: one query per table and one call per
batch provider, whatever the number of services.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.stages import ORDER, Stage
from watchkeeper.catalog.gate import GateFailure
from watchkeeper.catalog.schemas import ServiceFilter, ServiceRead
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.evidence import Evidence, Status
from watchkeeper.monitoring.events import SignalChanged
from watchkeeper.readiness import _checklist, registry
from watchkeeper.readiness._checklist import CHECKS, Kind, Level, PolicyItem, WaiverInfo
from watchkeeper.readiness.events import ReadinessInputChanged
from watchkeeper.readiness.models import Attestation, ItemHistory, ItemState, Policy, ServiceState, Waiver
from watchkeeper.readiness.schemas import (
    MAX_HORIZON, AttestationCreate, AttestationRead, HistoryEntry, ItemResult, PolicyItemRead, PolicyRead,
    ReadinessReport, RefreshSummary, Scorecard, ScorecardCell, ScorecardColumn, ScorecardRow, WaiverCreate, WaiverRead,
)

log = logging.getLogger(__name__)

ATTESTATION_WARN = dt.timedelta(days=14)
REGRESSION_ALERT = "ReadinessRegression"


class WaiverNotFound(NotFound):
    code = "readiness.waiver_not_found"


class AttestationNotFound(NotFound):
    code = "readiness.attestation_not_found"


# ---------------------------------------------------------------- policies


def _tuning(session: Session) -> dict[Stage, dict]:
    return {Stage(p.stage): p.items or {} for p in session.execute(select(Policy)).scalars()}


def known_checks(session: Session, tuning: dict[Stage, dict] | None = None) -> dict[str, _checklist.CheckDef]:
    """Built-in checks plus the custom attestation items config added to any stage."""
    tuning = _tuning(session) if tuning is None else tuning
    out = dict(CHECKS)
    for items in tuning.values():
        for check, spec in items.items():
            if check not in out:
                out[check] = _checklist.check_def(check, spec)
    return out


def _check(session: Session, check: str, *, field: str = "check") -> _checklist.CheckDef:
    checks = known_checks(session)
    if check not in checks:
        raise InvalidInput(f"unknown check '{check}'; checks are: {', '.join(sorted(checks))}", field=field,
                           code="readiness.unknown_check")
    return checks[check]


def policy(session: Session, *, stage: Stage, tier: int = 3) -> PolicyRead:
    """The checklist `stage` asks of a service of `tier`, after config tuning."""
    row = session.execute(select(Policy).where(Policy.stage == stage.value)).scalar_one_or_none()
    items = _checklist.resolve_policy(stage, tier, row.items if row else None)
    return PolicyRead(stage=stage, tier=tier, tuning=row.items if row else {}, managed_by=row.managed_by if row else None,
                      items=[PolicyItemRead(**dataclasses.asdict(i)) for i in items])


def policy_tuning(session: Session) -> dict[str, dict]:
    """Stage → tuning, as stored by `apply` (for the config reconciler)."""
    return {stage.value: items for stage, items in _tuning(session).items()}


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


# ---------------------------------------------------------------- waivers


def _waiver_read(row: Waiver, service: str, now: dt.datetime) -> WaiverRead:
    return WaiverRead(id=row.id, service=service, check=row.check_id, reason=row.reason, granted_by=row.granted_by,
                      granted_at=row.granted_at, expires_at=row.expires_at, revoked_at=row.revoked_at,
                      revoked_by=row.revoked_by, revoke_reason=row.revoke_reason, managed_by=row.managed_by,
                      active=row.revoked_at is None and row.expires_at > now)


def _horizon(expires_at: dt.datetime, now: dt.datetime, *, what: str, allow_past: bool) -> dt.datetime:
    expires_at = clock.ensure_aware(expires_at)
    if expires_at <= now and not allow_past:
        raise InvalidInput(f"{what} expiry {expires_at:%Y-%m-%d %H:%M} UTC is not in the future; pick a later date",
                           field="expires_at")
    if expires_at > now + MAX_HORIZON:
        raise InvalidInput(f"{what} expiry {expires_at:%Y-%m-%d} is more than a year ahead; pick a nearer date and renew it",
                           field="expires_at")
    return expires_at


def grant_waiver(session: Session, *, service: str, data: WaiverCreate, actor: Actor, granted_by: str | None = None,
                 managed_by: str = "runtime") -> WaiverRead:
    """Let `service` pass item `data.check` without its evidence until the waiver expires.

    Raises ServiceNotFound; InvalidInput for an unknown check or an expiry that is past or
    more than a year ahead; Conflict when an active waiver already covers the item (a
    config-owned waiver supersedes a runtime one instead). Audited; publishes
    ReadinessInputChanged. Does not commit.
    """
    svc = catalog.get_service(session, name=service)
    require(actor, "readiness.waive", team=svc.team, service=service)
    _check(session, data.check)
    now = clock.utcnow()
    expires_at = _horizon(data.expires_at or now + data.expires_in, now, what="waiver", allow_past=managed_by == "config")
    current = [w for w in session.execute(select(Waiver).where(
        Waiver.service_id == svc.id, Waiver.check_id == data.check, Waiver.revoked_at.is_(None), Waiver.expires_at > now,
    )).scalars()]
    for old in current:
        if managed_by != "config":
            raise Conflict(f"waiver {old.id} by {old.granted_by} already covers {service}/{data.check} until "
                           f"{old.expires_at:%Y-%m-%d}; revoke it first to change it", code="readiness.waiver_exists")
        old.revoked_at, old.revoked_by, old.revoke_reason = now, actor.name, "superseded by watchkeeper.yaml"
    row = Waiver(service_id=svc.id, check_id=data.check, reason=data.reason, granted_by=granted_by or actor.name,
                 granted_at=now, expires_at=expires_at, managed_by=managed_by)
    session.add(row)
    session.flush()
    read = _waiver_read(row, service, now)
    audit.record(session, actor=actor, action="readiness.waive", target=f"service:{service}",
                 after=read.model_dump(mode="json", include={"id", "check", "reason", "granted_by", "expires_at", "managed_by"}))
    events.publish(session, ReadinessInputChanged(service=service, check=data.check, action="waived"))
    return read


def revoke_waiver(session: Session, *, service: str, waiver_id: int, reason: str, actor: Actor,
                  allow_config: bool = False) -> WaiverRead:
    """End a waiver now; the item is judged on its evidence again. Config-owned waivers are
    removed by editing watchkeeper.yaml. Audited; publishes ReadinessInputChanged."""
    svc = catalog.get_service(session, name=service)
    row = session.get(Waiver, waiver_id)
    if row is None or row.service_id != svc.id:
        raise WaiverNotFound(f"service '{service}' has no waiver {waiver_id}; `watchkeeper readiness waivers {service}` lists them")
    require(actor, "readiness.waive", team=svc.team, service=service)
    if row.managed_by == "config" and not allow_config:
        raise Conflict(f"waiver {waiver_id} is owned by watchkeeper.yaml; remove it there and run `watchkeeper apply`",
                       code="readiness.config_owned")
    if row.revoked_at is not None:
        raise Conflict(f"waiver {waiver_id} was already revoked by {row.revoked_by}", code="readiness.waiver_revoked")
    if not reason or len(reason.strip()) < 3:
        raise InvalidInput("revoking a waiver needs a reason", field="reason")
    now = clock.utcnow()
    row.revoked_at, row.revoked_by, row.revoke_reason = now, actor.name, reason
    session.flush()
    audit.record(session, actor=actor, action="readiness.unwaive", target=f"service:{service}",
                 before={"waiver": waiver_id, "check": row.check_id, "active": row.expires_at > now},
                 after={"waiver": waiver_id, "active": False}, note=reason)
    events.publish(session, ReadinessInputChanged(service=service, check=row.check_id, action="unwaived"))
    return _waiver_read(row, service, now)


def list_waivers(session: Session, *, actor: Actor, service: str | None = None, active_only: bool = False,
                 managed_by: str | None = None) -> list[WaiverRead]:
    """Waivers, newest first: of one service, or of every service the actor may see."""
    now = clock.utcnow()
    names = _visible(session, actor, service)
    query = select(Waiver).where(Waiver.service_id.in_(list(names))).order_by(Waiver.granted_at.desc(), Waiver.id.desc())
    if active_only:
        query = query.where(Waiver.revoked_at.is_(None), Waiver.expires_at > now)
    if managed_by:
        query = query.where(Waiver.managed_by == managed_by)
    return [_waiver_read(r, names[r.service_id], now) for r in session.execute(query).scalars()]


def _visible(session: Session, actor: Actor, service: str | None) -> dict[int, str]:
    """id → name of one service (permission-checked) or of all services the actor sees."""
    if service is not None:
        svc = catalog.get_service(session, name=service)
        require(actor, "readiness.read", team=svc.team, service=service)
        return {svc.id: svc.name}
    require(actor, "readiness.read")
    return {s.id: s.name for s in catalog.list_services(session, actor=actor)}


# ---------------------------------------------------------------- attestations


def _attestation_read(row: Attestation, service: str, now: dt.datetime) -> AttestationRead:
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
    svc = catalog.get_service(session, name=service)
    require(actor, "readiness.attest", team=svc.team, service=service)
    cdef = _check(session, data.check)
    if cdef.kind is not Kind.ATTESTATION:
        raise InvalidInput(f"'{data.check}' is measured by Watchkeeper ({cdef.owner}), so it cannot be attested; "
                           "fix the evidence or grant a waiver", field="check", code="readiness.not_attestable")
    person = data.by or (actor.name if actor.id is not None else None)
    if not person:
        raise InvalidInput("say who attests: pass --by HANDLE (a person from the catalog)", field="by")
    try:
        catalog.get_person(session, handle=person)
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
    read = _attestation_read(row, service, now)
    audit.record(session, actor=actor, action="readiness.attest", target=f"service:{service}",
                 after=read.model_dump(mode="json", include={"id", "check", "attested_by", "link", "expires_at", "managed_by"}))
    events.publish(session, ReadinessInputChanged(service=service, check=data.check, action="attested"))
    return read


def revoke_attestation(session: Session, *, service: str, attestation_id: int, reason: str, actor: Actor,
                       allow_config: bool = False) -> AttestationRead:
    """Withdraw an attestation now; the item fails until someone attests again. Audited."""
    svc = catalog.get_service(session, name=service)
    row = session.get(Attestation, attestation_id)
    if row is None or row.service_id != svc.id:
        raise AttestationNotFound(f"service '{service}' has no attestation {attestation_id}")
    require(actor, "readiness.attest", team=svc.team, service=service)
    if row.managed_by == "config" and not allow_config:
        raise Conflict(f"attestation {attestation_id} is owned by watchkeeper.yaml; remove it there and run `watchkeeper apply`",
                       code="readiness.config_owned")
    if row.revoked_at is not None:
        raise Conflict(f"attestation {attestation_id} was already revoked by {row.revoked_by}", code="readiness.attestation_revoked")
    if not reason or len(reason.strip()) < 3:
        raise InvalidInput("revoking an attestation needs a reason", field="reason")
    now = clock.utcnow()
    row.revoked_at, row.revoked_by = now, actor.name
    session.flush()
    audit.record(session, actor=actor, action="readiness.unattest", target=f"service:{service}",
                 before={"attestation": attestation_id, "check": row.check_id}, after={"attestation": attestation_id, "active": False},
                 note=reason)
    events.publish(session, ReadinessInputChanged(service=service, check=row.check_id, action="unattested"))
    return _attestation_read(row, service, now)


def list_attestations(session: Session, *, actor: Actor, service: str | None = None, active_only: bool = False,
                      managed_by: str | None = None) -> list[AttestationRead]:
    now = clock.utcnow()
    names = _visible(session, actor, service)
    query = select(Attestation).where(Attestation.service_id.in_(list(names))).order_by(
        Attestation.attested_at.desc(), Attestation.id.desc())
    if active_only:
        query = query.where(Attestation.revoked_at.is_(None), Attestation.expires_at > now)
    if managed_by:
        query = query.where(Attestation.managed_by == managed_by)
    return [_attestation_read(r, names[r.service_id], now) for r in session.execute(query).scalars()]


def _attestation_evidence(row: Attestation | None, service: str, check: str, now: dt.datetime) -> Evidence:
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


# ---------------------------------------------------------------- evaluation


@dataclasses.dataclass
class _Inputs:
    """Everything evaluation needs, loaded in a handful of queries for many services."""

    now: dt.datetime
    tuning: dict[Stage, dict]
    checks: dict[str, _checklist.CheckDef]
    waivers: dict[tuple[int, str], Waiver]
    attestations: dict[tuple[int, str], Attestation]
    states: dict[tuple[int, str], tuple[str, dt.datetime]]  # (service id, check) -> (word, since)
    evidence: dict[tuple[str, str], Evidence]
    policies: dict[tuple[Stage, int], list[PolicyItem]] = dataclasses.field(default_factory=dict)

    def policy(self, stage: Stage, tier: int) -> list[PolicyItem]:
        key = (stage, tier)
        if key not in self.policies:
            self.policies[key] = _checklist.resolve_policy(stage, tier, self.tuning.get(stage))
        return self.policies[key]


def _newest(rows: Iterable, key) -> dict:
    out: dict = {}
    for row in rows:  # rows come oldest first, so the newest wins
        out[key(row)] = row
    return out


def _call(check: str, fn, *args):
    """Run a provider; a provider's own bug becomes unknown evidence naming the failure, so
    one broken domain cannot take the whole gate down. Database errors still propagate."""
    try:
        return fn(*args)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - surfaced as evidence and logged, not swallowed
        log.exception("readiness provider failed", extra={"check": check})
        return exc


def _gather(session: Session, services: Sequence[ServiceRead], wanted: dict[str, list[str]], *, now: dt.datetime,
            tuning: dict[Stage, dict]) -> _Inputs:
    ids = [s.id for s in services]
    checks = known_checks(session, tuning)
    waivers: dict = {}
    attestations: dict = {}
    states: dict = {}
    for chunk in range(0, len(ids), 900):
        part = ids[chunk:chunk + 900]
        waivers.update(_newest(session.execute(
            select(Waiver).where(Waiver.service_id.in_(part), Waiver.revoked_at.is_(None))
            .order_by(Waiver.granted_at, Waiver.id)).scalars(), lambda w: (w.service_id, w.check_id)))
        attestations.update(_newest(session.execute(
            select(Attestation).where(Attestation.service_id.in_(part), Attestation.revoked_at.is_(None))
            .order_by(Attestation.attested_at, Attestation.id)).scalars(), lambda a: (a.service_id, a.check_id)))
        # Plain rows, not ORM objects: thousands of them, read only for "since when".
        states.update({(sid, check): (word, since) for sid, check, word, since in session.execute(
            select(ItemState.service_id, ItemState.check_id, ItemState.word, ItemState.since)
            .where(ItemState.service_id.in_(part)))})
    by_check: dict[str, list[ServiceRead]] = defaultdict(list)
    for svc in services:
        for check in wanted.get(svc.name, ()):
            by_check[check].append(svc)
    evidence: dict[tuple[str, str], Evidence] = {}
    for check, svcs in by_check.items():
        cdef = checks.get(check) or _checklist.check_def(check)
        batch, single = registry.batch_provider_for(check), registry.provider_for(check)
        got: dict[str, Evidence] = {}
        if batch is not None:
            result = _call(check, batch, session, svcs)
            if isinstance(result, Exception):
                got = {s.name: _provider_failed(cdef, result) for s in svcs}
            else:
                got = dict(result)
        for svc in svcs:
            if svc.name in got:
                evidence[(svc.name, check)] = got[svc.name]
            elif single is not None:
                result = _call(check, single, session, svc)
                evidence[(svc.name, check)] = _provider_failed(cdef, result) if isinstance(result, Exception) else result
            elif cdef.kind is Kind.ATTESTATION:
                evidence[(svc.name, check)] = _attestation_evidence(attestations.get((svc.id, check)), svc.name, check, now)
            else:
                evidence[(svc.name, check)] = _checklist.fallback(check, svc)
    return _Inputs(now=now, tuning=tuning, checks=checks, waivers=waivers, attestations=attestations, states=states,
                   evidence=evidence)


def _provider_failed(cdef: _checklist.CheckDef, exc: Exception) -> Evidence:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return Evidence.unknown(f"the {cdef.owner} evidence provider failed ({type(exc).__name__}: {text}); see the server log")


def _item(svc: ServiceRead, item: PolicyItem, inputs: _Inputs) -> ItemResult:
    ev = inputs.evidence[(svc.name, item.check)]
    now = inputs.now
    waiver_row = inputs.waivers.get((svc.id, item.check))
    waiver = _waiver_read(waiver_row, svc.name, now) if waiver_row else None
    info = WaiverInfo(waiver_row.id, waiver_row.granted_by, waiver_row.reason, waiver_row.expires_at) if waiver_row else None
    result = _checklist.outcome(item.level, Status(ev.status), info, now)
    reason = ev.reason
    if result.waived and "; meanwhile, waive it:" in reason:
        reason = reason.split("; meanwhile, waive it:")[0]  # the hint is moot once waived
    expired = waiver if waiver is not None and not waiver.active and result.word != Status.PASS else None
    if expired is not None and not result.passing:
        reason += f" (waiver by {expired.granted_by} expired on {expired.expires_at:%Y-%m-%d})"
    observed = clock.ensure_aware(ev.observed_at) if ev.observed_at else None
    att_row = inputs.attestations.get((svc.id, item.check)) if item.kind is Kind.ATTESTATION else None
    state = inputs.states.get((svc.id, item.check))
    # model_construct: every value is already of the right type, and validating 12,000 items
    # for a thousand-service scorecard costs more than all the database queries together.
    return ItemResult.model_construct(
        check=item.check, title=item.title, kind=item.kind, level=item.level, asks=item.asks, status=Status(ev.status),
        word=result.word, reason=reason, observed_at=observed,
        age_seconds=(now - observed).total_seconds() if observed else None, link=ev.link, details=dict(ev.details or {}),
        passing=result.passing, blocking=result.blocking,
        waiver=waiver if waiver is not None and waiver.active else None, expired_waiver=expired,
        attestation=_attestation_read(att_row, svc.name, now) if att_row else None,
        since=state[1] if state is not None and state[0] == result.word else None,
    )


def _report(svc: ServiceRead, stage: Stage, inputs: _Inputs) -> ReadinessReport:
    items = [_item(svc, item, inputs) for item in inputs.policy(stage, svc.tier)]
    blocking = sum(1 for i in items if i.blocking)
    weak = sum(1 for i in items if not i.passing and i.level is Level.RECOMMENDED)
    counts: dict[str, int] = defaultdict(int)
    for i in items:
        counts[i.word] += 1
    return ReadinessReport(
        service=svc.name, team=svc.team, tier=svc.tier, stage=stage, current_stage=svc.stage, forced=svc.forced,
        evaluated_at=inputs.now, ready=blocking == 0, word=_checklist.summary_word(blocking, weak), counts=dict(counts),
        items=items,
    )


def _wanted(services: Sequence[ServiceRead], stages: dict[str, list[Stage]], tuning: dict[Stage, dict]) -> dict[str, list[str]]:
    cache: dict[tuple[Stage, ...], dict[int, list[str]]] = defaultdict(dict)
    out: dict[str, list[str]] = {}
    for svc in services:
        key = tuple(stages[svc.name])
        if svc.tier not in cache[key]:
            seen: dict[str, None] = {}
            for stage in key:
                for item in _checklist.resolve_policy(stage, svc.tier, tuning.get(stage)):
                    seen[item.check] = None
            cache[key][svc.tier] = list(seen)
        out[svc.name] = cache[key][svc.tier]
    return out


def evaluate_services(session: Session, services: Sequence[ServiceRead], *, stage: Stage | None = None) -> list[ReadinessReport]:
    """Evaluate many services at once against `stage` (default: each service's current stage).

    Reads only: nothing is recorded (see `refresh`). No permission check: callers check
    `readiness.read` (get_report, scorecard) or act for the system (gate, job).
    """
    now = clock.utcnow()
    tuning = _tuning(session)
    stages = {s.name: [stage or s.stage] for s in services}
    inputs = _gather(session, services, _wanted(services, stages, tuning), now=now, tuning=tuning)
    return [_report(svc, stage or svc.stage, inputs) for svc in services]


def get_report(session: Session, *, service: str, actor: Actor, stage: Stage | None = None) -> ReadinessReport:
    """One service's checklist for `stage` (default: its current stage), live. Raises ServiceNotFound."""
    svc = catalog.get_service(session, name=service)
    require(actor, "readiness.read", team=svc.team, service=service)
    return evaluate_services(session, [svc], stage=stage)[0]


def gate(session: Session, *, service: ServiceRead, target: Stage) -> list[GateFailure]:
    """The promotion gate (registered with catalog.gate in app.wire): every required item of
    the target stage that does not pass, with its reason."""
    report = evaluate_services(session, [service], stage=Stage(target))[0]
    return [GateFailure(item=i.check, reason=i.reason) for i in report.items if i.blocking]


def scorecard(session: Session, *, actor: Actor, stage: Stage = Stage.PROD, team: str | None = None,
              services: list[str] | None = None) -> Scorecard:
    """Services × items of `stage`'s checklist, one word per cell (pass/warn/fail/unknown/waived)."""
    require(actor, "readiness.read")
    rows = catalog.list_services(session, actor=actor, filter=ServiceFilter(team=team))
    if services is not None:
        wanted = set(services)
        rows = [s for s in rows if s.name in wanted]
    reports = evaluate_services(session, rows, stage=stage)
    columns: dict[str, str] = {i.check: i.title for i in _checklist.resolve_policy(stage, 1, _tuning(session).get(stage))}
    for report in reports:
        for item in report.items:
            columns.setdefault(item.check, item.title)
    return Scorecard(
        stage=stage, evaluated_at=clock.utcnow(),
        columns=[ScorecardColumn(check=c, title=t) for c, t in columns.items()],
        rows=[ScorecardRow(service=r.service, team=r.team, tier=r.tier, stage=r.current_stage, forced=r.forced, ready=r.ready,
                           word=r.word, cells={i.check: ScorecardCell(word=i.word, level=i.level, reason=i.reason) for i in r.items})
              for r in reports],
    )


# ---------------------------------------------------------------- continuous evaluation


def _next(stage: Stage) -> Stage | None:
    return ORDER[stage.rank + 1] if stage.rank + 1 < len(ORDER) else None


def refresh(session: Session, *, actor: Actor, services: list[str] | None = None, base_url: str = "") -> RefreshSummary:
    """Re-evaluate services (default: all) and record what changed.

    For each service: the items of its current and next stage are recorded (a history row
    whenever an item's word changes); a service forced past the gate that now passes loses
    its forced mark; a PROD service that falls out of readiness raises a ReadinessRegression
    signal (SignalChanged, source "readiness"), resolved when it recovers or leaves PROD.
    Audited when a person (not the worker's schedule) asks for it; unforcing is audited by the
    catalog. Does not commit.
    """
    require(actor, "readiness.refresh")
    rows = catalog.list_services(session, actor=actor)
    if services is not None:
        wanted_names = set(services)
        rows = [s for s in rows if s.name in wanted_names]
    now = clock.utcnow()
    tuning = _tuning(session)
    stages = {s.name: [s.stage] + ([_next(s.stage)] if _next(s.stage) else []) for s in rows}
    inputs = _gather(session, rows, _wanted(rows, stages, tuning), now=now, tuning=tuning)
    summary = RefreshSummary(evaluated=len(rows), changed_items=0, regressions_opened=[], regressions_resolved=[], unforced=[])
    service_states: dict[int, ServiceState] = {}
    item_states: dict[tuple[int, str], ItemState] = {}
    ids = [s.id for s in rows]
    for chunk in range(0, len(ids), 900):
        part = ids[chunk:chunk + 900]
        service_states.update({st.service_id: st for st in session.execute(
            select(ServiceState).where(ServiceState.service_id.in_(part))).scalars()})
        item_states.update({(st.service_id, st.check_id): st for st in session.execute(
            select(ItemState).where(ItemState.service_id.in_(part))).scalars()})
    for svc in rows:
        items: dict[str, ItemResult] = {}
        for stage in stages[svc.name]:
            for item in _report(svc, stage, inputs).items:
                items.setdefault(item.check, item)
        summary.changed_items += _record_items(session, svc, items.values(), item_states, now)
        current = _report(svc, svc.stage, inputs)
        _track_service(session, svc, current, service_states.get(svc.id), now=now, summary=summary, base_url=base_url)
        if svc.forced and current.ready:
            catalog.clear_forced(session, name=svc.name, actor=actor)
            summary.unforced.append(svc.name)
    session.flush()
    if actor.source != "worker":  # a person asked for it; the worker's schedule is not news
        audit.record(session, actor=actor, action="readiness.refresh", target="readiness:" + (",".join(services) if services else "all"),
                     after={"evaluated": summary.evaluated, "changed_items": summary.changed_items})
    return summary


def _record_items(session: Session, svc: ServiceRead, items: Iterable[ItemResult],
                  states: dict[tuple[int, str], ItemState], now: dt.datetime) -> int:
    changed = 0
    for item in items:
        state = states.get((svc.id, item.check))
        if state is None:
            state = ItemState(service_id=svc.id, check_id=item.check, word=item.word, reason=item.reason, since=now)
            session.add(state)
            states[(svc.id, item.check)] = state
        elif state.word != item.word:
            state.word, state.reason, state.since = item.word, item.reason, now
        else:
            if state.reason != item.reason:
                state.reason = item.reason
            continue
        session.add(ItemHistory(service_id=svc.id, check_id=item.check, word=item.word, reason=item.reason, at=now))
        changed += 1
    return changed


def _track_service(session: Session, svc: ServiceRead, report: ReadinessReport, state: ServiceState | None, *,
                   now: dt.datetime, summary: RefreshSummary, base_url: str) -> None:
    blocking = [i.check for i in report.items if i.blocking]
    in_prod = svc.stage is Stage.PROD and not svc.forced
    firing = state is not None and state.regression_since is not None
    # A regression needs a baseline: the service was ready before, or has just entered PROD
    # (through the gate, so it was ready then). A service declared at PROD and never ready
    # shows red on the scorecard but does not page.
    fell = (in_prod and not report.ready and state is not None
            and (state.ready or Stage(state.stage) is not Stage.PROD))
    if state is None:
        state = ServiceState(service_id=svc.id, stage=svc.stage.value, ready=report.ready, blocking=blocking, evaluated_at=now)
        session.add(state)
    if fell and not firing:
        state.regression_since = now
        _signal(session, svc, report, firing=True, since=now, now=now, base_url=base_url)
        summary.regressions_opened.append(svc.name)
    elif firing and (report.ready or not in_prod):
        _signal(session, svc, report, firing=False, since=state.regression_since, now=now, base_url=base_url)
        state.regression_since = None
        summary.regressions_resolved.append(svc.name)
    state.stage, state.ready, state.blocking, state.evaluated_at = svc.stage.value, report.ready, blocking, now


def _signal(session: Session, svc: ServiceRead, report: ReadinessReport, *, firing: bool, since: dt.datetime,
            now: dt.datetime, base_url: str) -> None:
    failing = [i for i in report.items if i.blocking]
    if firing:
        summary = f"{svc.name} fell out of PROD readiness: {len(failing)} required item(s) fail"
        description = "; ".join(f"{i.check}: {i.reason}" for i in failing)[:2000]
    else:
        summary = f"{svc.name} is PROD-ready again" if report.ready else f"{svc.name} left PROD; readiness regression closed"
        description = summary
    link = f"{base_url.rstrip('/')}/services/{svc.name}/readiness" if base_url else f"/services/{svc.name}/readiness"
    events.publish(session, SignalChanged(
        source="readiness", name=REGRESSION_ALERT, firing=firing,
        labels={"alertname": REGRESSION_ALERT, "service": svc.name, "source": "readiness"},
        annotations={"summary": summary, "description": description},
        starts_at=since, ends_at=None if firing else now, service=svc.name,
        severity="critical" if svc.tier == 1 else "warning", generator_url=link,
        details={"failing": [i.check for i in failing], "stage": svc.stage.value},
    ))


def history(session: Session, *, service: str, actor: Actor, check: str | None = None, limit: int = 200) -> list[HistoryEntry]:
    """Recorded changes of a service's items, newest first."""
    svc = catalog.get_service(session, name=service)
    require(actor, "readiness.read", team=svc.team, service=service)
    query = select(ItemHistory).where(ItemHistory.service_id == svc.id).order_by(ItemHistory.at.desc(), ItemHistory.id.desc())
    if check:
        query = query.where(ItemHistory.check_id == check)
    return [HistoryEntry(check=h.check_id, word=h.word, reason=h.reason, at=h.at) for h in session.execute(query.limit(limit)).scalars()]


def regression_state(session: Session, *, service: str) -> dt.datetime | None:
    """Since when a PROD regression of `service` is open, or None."""
    svc = catalog.get_service(session, name=service)
    row = session.execute(select(ServiceState).where(ServiceState.service_id == svc.id)).scalar_one_or_none()
    return row.regression_since if row else None
