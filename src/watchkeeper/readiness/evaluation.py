"""The readiness engine: evaluate stage checklists from live evidence for many services at
once, the promotion gate, and the scorecard.

Evidence comes from providers registered in `registry` by app.wire(); readiness never
imports the domains that own it. Evaluation is batched: one query per table and one call per
batch provider, whatever the number of services. It only reads; continuous.py records what
changed.
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

from watchkeeper import clock
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.gate import GateFailure
from watchkeeper.catalog.schemas import ServiceFilter, ServiceRead
from watchkeeper.catalog.stages import Stage
from watchkeeper.evidence import Evidence, Status
from watchkeeper.readiness import _checklist, registry
from watchkeeper.readiness._checklist import Kind, Level, PolicyItem, WaiverInfo
from watchkeeper.readiness.models import Attestation, ItemState, Waiver
from watchkeeper.readiness.policies import known_checks, tuning_of
from watchkeeper.readiness.schemas import ItemResult, ReadinessReport, Scorecard, ScorecardCell, ScorecardColumn, ScorecardRow
from watchkeeper.readiness.waivers import attestation_evidence, attestation_read, waiver_read

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Inputs:
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


def gather(session: Session, services: Sequence[ServiceRead], wanted: dict[str, list[str]], *, now: dt.datetime,
            tuning: dict[Stage, dict]) -> Inputs:
    """Waivers, attestations, item states and the `wanted` checks' evidence of `services`."""
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
                evidence[(svc.name, check)] = attestation_evidence(attestations.get((svc.id, check)), svc.name, check, now)
            else:
                evidence[(svc.name, check)] = _checklist.fallback(check, svc)
    return Inputs(now=now, tuning=tuning, checks=checks, waivers=waivers, attestations=attestations, states=states,
                   evidence=evidence)


def _provider_failed(cdef: _checklist.CheckDef, exc: Exception) -> Evidence:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return Evidence.unknown(f"the {cdef.owner} evidence provider failed ({type(exc).__name__}: {text}); see the server log")


def _item(svc: ServiceRead, item: PolicyItem, inputs: Inputs) -> ItemResult:
    ev = inputs.evidence[(svc.name, item.check)]
    now = inputs.now
    waiver_row = inputs.waivers.get((svc.id, item.check))
    waiver = waiver_read(waiver_row, svc.name, now) if waiver_row else None
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
        attestation=attestation_read(att_row, svc.name, now) if att_row else None,
        since=state[1] if state is not None and state[0] == result.word else None,
    )


def report(svc: ServiceRead, stage: Stage, inputs: Inputs) -> ReadinessReport:
    """One service's checklist for `stage`, from gathered inputs."""
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


def wanted_checks(services: Sequence[ServiceRead], stages: dict[str, list[Stage]], tuning: dict[Stage, dict]) -> dict[str, list[str]]:
    """Service name → the checks its stages ask for (so evidence is gathered for those only)."""
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
    tuning = tuning_of(session)
    stages = {s.name: [stage or s.stage] for s in services}
    inputs = gather(session, services, wanted_checks(services, stages, tuning), now=now, tuning=tuning)
    return [report(svc, stage or svc.stage, inputs) for svc in services]


def get_report(session: Session, *, service: str, actor: Actor, stage: Stage | None = None) -> ReadinessReport:
    """One service's checklist for `stage` (default: its current stage), live. Raises ServiceNotFound."""
    svc = catalog.lookup_service(session, name=service)
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
    columns: dict[str, str] = {i.check: i.title for i in _checklist.resolve_policy(stage, 1, tuning_of(session).get(stage))}
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

