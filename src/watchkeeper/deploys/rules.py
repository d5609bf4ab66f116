"""The deploy gate's rules and what they read (internal: `gate.check` calls them after it
checked deploy.check; `service.start_deploy` asks for the rollback target). Each rule returns
one reason, or None when it does not refuse; the rule ids and what they mean are in gate.py's
docstring and docs/deploys.md."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.catalog.schemas import ServiceRead
from watchkeeper.catalog.stages import Stage
from watchkeeper.deploys import _measured, freezes
from watchkeeper.deploys.models import Deploy
from watchkeeper.deploys.schemas import GateReason, RollbackTarget, TestEvidence
from watchkeeper.evidence import Status

RULES = ("tests", "rollback_target", "rollback_drilled", "freeze", "change_window", "readiness", "slo_budget", "incident")
SEVERE = ("SEV1", "SEV2")
_SYSTEM = Actor.system("deploy-gate", "system")  # reads SLO budgets for the gate, whoever asks


def previous_good(session: Session, *, service: str, environment: str, other_than: str | None = None,
                  before_id: int | None = None) -> Deploy | None:
    """The newest successful deploy of the service to the environment (of another version)."""
    query = select(Deploy).where(Deploy.service == service, Deploy.environment == environment, Deploy.status == "succeeded")
    if other_than is not None:
        query = query.where(Deploy.version != other_than)
    if before_id is not None:
        query = query.where(Deploy.id < before_id)
    return session.execute(query.order_by(Deploy.id.desc()).limit(1)).scalar_one_or_none()


def rollback_target(session: Session, *, service: str, environment: str, version: str,
                    given: RollbackTarget | None) -> RollbackTarget | None:
    """The way back: as given, else the previous good version with the rollback hook (or the
    `how` of the deploy that installed it). None when there is no version to return to."""
    policy = freezes.policy_of(session, service)
    hook = policy.rollback.describe() if policy is not None and policy.rollback is not None else None
    if given is not None:
        return RollbackTarget(version=given.version, how=given.how or hook)
    prev = previous_good(session, service=service, environment=environment, other_than=version)
    if prev is None:
        return None
    return RollbackTarget(version=prev.version, how=hook)


def recorded_tests(session: Session, *, service: str, version: str) -> TestEvidence | None:
    """The test evidence recorded with this version's newest deploy that carried some."""
    row = session.execute(select(Deploy).where(Deploy.service == service, Deploy.version == version,
                                               Deploy.tests_status != "untested").order_by(Deploy.id.desc()).limit(1)).scalar_one_or_none()
    if row is None or row.tests_url is None:
        return None
    return TestEvidence(url=row.tests_url, status=row.tests_status, passed=row.tests_passed or 0,
                        failed=row.tests_failed or 0, skipped=row.tests_skipped or 0)


def _fmt(at: dt.datetime) -> str:
    return f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def rule_tests(tests: TestEvidence | None) -> str | None:
    if tests is None:
        return "untested: no test evidence for this version; pass the CI run (--tests-url, --tests-status, counts)"
    if tests.status == "failed" or tests.failed:
        return f"tests failed ({tests.failed} failed, {tests.passed} passed) in {tests.url}"
    return None


def rule_rollback_target(target: RollbackTarget | None, stage: Stage) -> str | None:
    if stage != Stage.PROD:
        return None
    if target is None:
        return "no rollback target: no earlier successful deploy to return to; give --rollback-version and --rollback-how"
    if not target.how:
        return (f"rollback target {target.version} has no way back: give --rollback-how or declare a rollback hook "
                "under deploys.services")
    return None


def rule_rollback_drilled(session: Session, svc: ServiceRead, stage: Stage) -> str | None:
    if stage != Stage.PROD:
        return None
    ev = _measured.drill_evidence(session, svc)
    return None if ev.status == Status.PASS else f"rollback not proven: {ev.reason}"


def rule_freeze(frozen: list[freezes.InForce]) -> str | None:
    if not frozen:
        return None
    parts = [f"'{f.name}' ({f.scope}) until {_fmt(f.end)}" + (f": {f.reason}" if f.reason else "") for f in frozen[:3]]
    return "inside change freeze " + "; ".join(parts)


def rule_change_window(windows: list, open_windows: list[freezes.InForce], at: dt.datetime) -> str | None:
    if not windows or open_windows:
        return None
    nexts = [n for n in (freezes.next_start(w, at) for w in windows) if n is not None]
    names = ", ".join(sorted(w.name for w in windows)[:5])
    return f"outside the allowed change windows ({names})" + (f"; the next opens {_fmt(min(nexts))}" if nexts else "")


def rule_readiness(session: Session, svc: ServiceRead, stage: Stage) -> str | None:
    from watchkeeper.readiness import evaluation

    report = evaluation.evaluate_services(session, [svc], stage=stage)[0]
    blocking = report.blocking
    if not blocking:
        return None
    shown = "; ".join(f"{i.check}: {i.reason}"[:200] for i in blocking[:3])
    more = f"; and {len(blocking) - 3} more" if len(blocking) > 3 else ""
    return f"not ready for {stage.value} ({len(blocking)} blocking item{'s' if len(blocking) != 1 else ''}): {shown}{more}"


def rule_slo_budget(session: Session, svc: ServiceRead) -> str | None:
    from watchkeeper.monitoring.slos import service as slos

    policy = freezes.policy_of(session, svc.name)
    budget = policy.budget if policy is not None else None
    minimum = budget.min_remaining if budget else 0.0
    if budget is not None and not budget.enforce:
        return None
    wanted = set(budget.slos) if budget and budget.slos else None
    spent = []
    for slo in slos.list_slos(session, actor=_SYSTEM, service=svc.name):
        if wanted is not None and slo.name not in wanted:
            continue
        status = slos.status(session, name=slo.name, actor=_SYSTEM)
        left = status.budget_remaining
        if left is not None and (left <= 0 if minimum == 0 else left < minimum):
            spent.append(f"{slo.name} has {max(left, -9.99) * 100:.0f}% of its error budget left"
                         + (f" (policy: at least {minimum * 100:.0f}%)" if minimum else " (exhausted)"))
    return "SLO error budget: " + "; ".join(spent[:3]) if spent else None


def open_incidents(session: Session, svc: ServiceRead) -> list[str] | None:
    """Open SEV1/SEV2 incidents (not drills) on the service or one of its dependencies, one
    line each (the incidents domain's `open_for_services`). None would mean "cannot tell"."""
    from watchkeeper.incidents import service as incidents

    watched = [svc.name, *svc.depends_on]
    out = []
    for row in incidents.open_for_services(session, watched):
        if row.severity not in SEVERE:
            continue
        on = [s for s in row.services if s in watched]
        where = "on " + ", ".join(on) if svc.name in on else "on dependency " + ", ".join(on)
        out.append(f"#{row.id} {row.severity} '{row.title[:80]}' {where} ({row.status})")
    return out


def evaluate(session: Session, svc: ServiceRead, *, stage: Stage, version: str, environment: str,
             tests: TestEvidence | None, rollback: RollbackTarget | None,
             at: dt.datetime) -> tuple[list[GateReason], list[GateReason]]:
    """(refusals, rules not checked). Internal: `check` checks the permission."""
    reasons: list[GateReason] = []
    tests = tests or recorded_tests(session, service=svc.name, version=version)
    target = rollback_target(session, service=svc.name, environment=environment, version=version, given=rollback)
    frozen, windows, open_windows = freezes.in_force(session, svc, at)
    incidents = open_incidents(session, svc)
    found = {
        "tests": rule_tests(tests),
        "rollback_target": rule_rollback_target(target, stage),
        "rollback_drilled": rule_rollback_drilled(session, svc, stage),
        "freeze": rule_freeze(frozen),
        "change_window": rule_change_window(windows, open_windows, at),
        "readiness": rule_readiness(session, svc, stage),
        "slo_budget": rule_slo_budget(session, svc),
        "incident": ("open incident: " + "; ".join(incidents[:3])) if incidents else None,
    }
    reasons = [GateReason(rule=r, reason=found[r]) for r in RULES if found[r]]
    not_checked = [] if incidents is not None else [
        GateReason(rule="incident", reason="open SEV1/SEV2 incidents are not checked: the incidents domain is not installed")]
    return reasons, not_checked


def approved_override(session: Session, service: str, version: str, stage: Stage) -> bool:
    """Whether an approved, unexpired override covers this version at this stage (read only)."""
    from watchkeeper import clock
    from watchkeeper.deploys.models import Override

    now = clock.utcnow()
    for row in session.execute(select(Override).where(Override.service == service, Override.version == version,
                                                      Override.stage == Stage(stage).value)).scalars():
        if row.approved_at is not None and clock.ensure_aware(row.expires_at) > now:
            return True
    return False
