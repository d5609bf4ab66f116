"""Audit suites: record external tools' results, run the built-in checks, resolve findings,
and say which level each suite passes.

Built-in security checks talk to the network. Keep that outside a database transaction (on
SQLite every transaction holds the write lock): read the URL with `target_url`, end the
transaction, `webcheck.gather` the facts, then `run_builtin(..., web=facts)`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.assessments import _suites, measures
from watchkeeper.assessments._suites import BUILTIN_TOOL, AuditLevel, OpenFinding, RunFacts, Severity, Suite, WebFacts
from watchkeeper.assessments.events import AuditResultRecorded
from watchkeeper.assessments.models import Finding, Run
from watchkeeper.assessments.schemas import (
    CheckResult, FindingRead, LevelStatus, ResultCreate, RunRead, ServiceAudits, SuiteStatus,
)
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog.schemas import ServiceRead
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.evidence import Status

CLOCK_SKEW = dt.timedelta(minutes=5)


class FindingNotFound(NotFound):
    code = "assessment.finding_not_found"


def _suite(value: str) -> Suite:
    try:
        return Suite(value)
    except ValueError:
        raise InvalidInput(f"unknown audit suite '{value}'; suites are: {', '.join(s.value for s in Suite)}",
                           field="suite", code="assessment.unknown_suite") from None


def _run_read(run: Run, service: str, findings: list[Finding]) -> RunRead:
    suite = Suite(run.suite)
    titles = {c.id: c for c in _suites.SUITES[suite]}
    checks = [CheckResult(id=c["id"], title=titles[c["id"]].title if c["id"] in titles else c["id"],
                          level=titles[c["id"]].level if c["id"] in titles else AuditLevel.COMPLETE,
                          status=c["status"], reason=c["reason"]) for c in (run.checks or [])]
    return RunRead(id=run.id, service=service, suite=suite, tool=run.tool, builtin=run.builtin, level=AuditLevel(run.level),
                   ran_at=run.ran_at, link=run.link, summary=run.summary, recorded_by=run.recorded_by, checks=checks,
                   findings=[FindingRead.model_validate(f) for f in findings])


def _store(session: Session, svc: ServiceRead, *, suite: Suite, tool: str, builtin: bool, level: AuditLevel,
           ran_at: dt.datetime, link: str | None, summary: str | None, checks: list[dict], findings: list[dict],
           actor: Actor) -> RunRead:
    run = Run(service_id=svc.id, suite=suite.value, tool=tool, builtin=builtin, level=level.value, ran_at=ran_at,
              link=link, summary=summary, checks=checks, recorded_by=actor.name)
    session.add(run)
    session.flush()
    rows = [Finding(run_id=run.id, service_id=svc.id, suite=suite.value, tool=tool, status="open", **f) for f in findings]
    session.add_all(rows)
    session.flush()
    return _run_read(run, svc.name, rows)


def record_result(session: Session, *, service: str, suite: str, data: ResultCreate, actor: Actor) -> RunRead:
    """Store an external tool's result for one suite of `service`. The tool's newest result
    replaces its previous one: findings it no longer reports are no longer open.

    Raises ServiceNotFound; InvalidInput for an unknown suite, the reserved tool name or a
    future `ran_at`. Audited; publishes AuditResultRecorded. Does not commit.
    """
    svc = catalog.lookup_service(session, name=service)
    require(actor, "assessment.post", team=svc.team, service=service)
    kind = _suite(suite)
    if data.tool.lower() == BUILTIN_TOOL:
        raise InvalidInput(f"tool name '{data.tool}' is reserved for built-in checks; name the tool that produced the result",
                           field="tool")
    now = clock.utcnow()
    ran_at = clock.ensure_aware(data.ran_at) if data.ran_at else now
    if ran_at > now + CLOCK_SKEW:
        raise InvalidInput(f"ran_at {ran_at:%Y-%m-%d %H:%M} UTC is in the future; send the time the tool ran", field="ran_at")
    findings = [{"rule": f.rule, "title": f.title, "severity": f.severity.value, "link": str(f.link) if f.link else None}
                for f in data.findings]
    read = _store(session, svc, suite=kind, tool=data.tool, builtin=False, level=data.level, ran_at=ran_at,
                  link=str(data.link) if data.link else None, summary=data.summary, checks=[], findings=findings, actor=actor)
    counts = Counter(f["severity"] for f in findings)
    audit.record(session, actor=actor, action="assessment.post", target=f"service:{service}",
                 after={"run": read.id, "suite": kind.value, "tool": data.tool, "level": data.level.value,
                        "findings": dict(sorted(counts.items()))})
    events.publish(session, AuditResultRecorded(service=service, suite=kind.value, tool=data.tool))
    return read


def target_url(session: Session, *, service: str, suite: str, actor: Actor) -> str | None:
    """Check that the built-in checks of `suite` can run for `service`; returns the URL the
    security suite will visit (None for other suites). Raises InvalidInput naming the fix."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "assessment.run", team=svc.team, service=service)
    kind = _suite(suite)
    if not _suites.builtin_checks(kind):
        raise InvalidInput(f"the {kind} suite has no built-in checks; post results from "
                           f"{_suites.SUITES[kind][0].tools} to POST /api/v1/services/{service}/audits/{kind}/results",
                           field="suite", code="assessment.no_builtin")
    if kind is Suite.SECURITY:
        if not svc.public_url:
            raise InvalidInput(f"service '{service}' has no public_url, so its TLS and headers cannot be checked; "
                               "set public_url in watchkeeper.yaml", field="public_url", code="assessment.no_url")
        return svc.public_url
    return None


def run_builtin(session: Session, *, service: str, suite: str, actor: Actor, web: WebFacts | None = None,
                ca_file=None, timeout: float = 10.0) -> RunRead:
    """Measure the built-in checks of `suite` now and store the run; every failing check
    becomes an open finding with the check's severity.

    Security visits the service's public URL (pass `web` facts gathered outside the
    transaction, or let this function gather them — network I/O). Operations and performance
    ask the measures wired in app.wire(). Audited; publishes AuditResultRecorded. Does not commit.
    """
    url = target_url(session, service=service, suite=suite, actor=actor)
    svc = catalog.lookup_service(session, name=service)
    kind = Suite(suite)
    now = clock.utcnow()
    if kind is Suite.SECURITY:
        if web is None:
            from watchkeeper.assessments import webcheck

            web = webcheck.gather(url, ca_file=ca_file, timeout=timeout)
        outcomes = _suites.security_outcomes(web, now)
    else:
        outcomes = {}
        for check in _suites.builtin_checks(kind):
            evidence = measures.measure(session, check.id, svc)
            outcomes[check.id] = (evidence.status, evidence.reason)
    checks, findings = [], []
    for check in _suites.builtin_checks(kind):
        status, reason = outcomes.get(check.id, (Status.UNKNOWN, "not measured"))
        checks.append({"id": check.id, "status": Status(status).value, "reason": reason})
        if Status(status) is Status.FAIL:
            findings.append({"rule": check.id, "title": reason[:500], "severity": check.severity.value,
                             "link": f"/services/{service}/readiness#audits"})
    read = _store(session, svc, suite=kind, tool=BUILTIN_TOOL, builtin=True, level=AuditLevel.COMPLETE, ran_at=now,
                  link=url, summary=None, checks=checks, findings=findings, actor=actor)
    audit.record(session, actor=actor, action="assessment.run", target=f"service:{service}",
                 after={"run": read.id, "suite": kind.value, "failed": [c["id"] for c in checks if c["status"] == "fail"]})
    events.publish(session, AuditResultRecorded(service=service, suite=kind.value, tool=BUILTIN_TOOL))
    return read


def resolve_finding(session: Session, *, service: str, finding_id: int, reason: str, actor: Actor) -> FindingRead:
    """Close an open finding (fixed, false positive or accepted risk) with a reason. Audited;
    publishes AuditResultRecorded. Does not commit."""
    svc = catalog.lookup_service(session, name=service)
    row = session.get(Finding, finding_id)
    if row is None or row.service_id != svc.id:
        raise FindingNotFound(f"service '{service}' has no audit finding {finding_id}; `watchkeeper audit status {service}` lists them")
    require(actor, "assessment.resolve", team=svc.team, service=service)
    if row.status != "open":
        raise Conflict(f"finding {finding_id} is already {row.status} (by {row.resolved_by})", code="assessment.finding_closed")
    if not reason or len(reason.strip()) < 3:
        raise InvalidInput("resolving a finding needs a reason", field="reason")
    row.status, row.resolved_at, row.resolved_by, row.resolution = "resolved", clock.utcnow(), actor.name, reason
    session.flush()
    audit.record(session, actor=actor, action="assessment.resolve", target=f"service:{service}",
                 before={"finding": finding_id, "status": "open", "severity": row.severity, "title": row.title},
                 after={"finding": finding_id, "status": "resolved"}, note=reason)
    events.publish(session, AuditResultRecorded(service=service, suite=row.suite, tool=row.tool))
    return FindingRead.model_validate(row)


def list_runs(session: Session, *, service: str, actor: Actor, suite: str | None = None, limit: int = 50) -> list[RunRead]:
    """A service's audit runs, newest first. Raises ServiceNotFound, PermissionDenied."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "assessment.read", team=svc.team, service=service)
    query = select(Run).where(Run.service_id == svc.id).order_by(Run.ran_at.desc(), Run.id.desc()).limit(limit)
    if suite:
        query = query.where(Run.suite == _suite(suite).value)
    runs = list(session.execute(query).scalars())
    findings: dict[int, list[Finding]] = defaultdict(list)
    if runs:
        for f in session.execute(select(Finding).where(Finding.run_id.in_([r.id for r in runs])).order_by(Finding.id)).scalars():
            findings[f.run_id].append(f)
    return [_run_read(r, service, findings[r.id]) for r in runs]


# ---------------------------------------------------------------- levels, in batch


@dataclasses.dataclass(frozen=True)
class _Latest:
    id: int
    suite: Suite
    facts: RunFacts


def _latest(session: Session, service_ids: Sequence[int]) -> tuple[dict[int, dict[Suite, list[_Latest]]], dict[int, list[Finding]]]:
    """The newest run of every (service, suite, tool), and the open findings of those runs.
    Runs are read as plain rows (thousands of them when many services are evaluated)."""
    if not service_ids:
        return {}, {}
    ranked = (
        select(Run.id, Run.service_id, Run.suite, Run.tool, Run.builtin, Run.level, Run.ran_at, Run.checks,
               func.row_number().over(partition_by=(Run.service_id, Run.suite, Run.tool),
                                      order_by=(Run.ran_at.desc(), Run.id.desc())).label("rn"))
        .where(Run.service_id.in_(service_ids))
        .subquery()
    )
    rows = session.execute(select(ranked).where(ranked.c.rn == 1)).all()
    by_service: dict[int, dict[Suite, list[_Latest]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        suite = Suite(row.suite)
        facts = RunFacts(tool=row.tool, builtin=bool(row.builtin), level=AuditLevel(row.level), ran_at=clock.ensure_aware(row.ran_at),
                         checks={c["id"]: (c["status"], c["reason"]) for c in (row.checks or [])})
        by_service[row.service_id][suite].append(_Latest(row.id, suite, facts))
    findings: dict[int, list[Finding]] = defaultdict(list)
    ids = [r.id for r in rows]
    for chunk in range(0, len(ids), 900):
        for f in session.execute(select(Finding).where(Finding.run_id.in_(ids[chunk:chunk + 900]), Finding.status == "open")
                                 .order_by(Finding.id)).scalars():
            findings[f.run_id].append(f)
    return by_service, findings


_SEVERITY_RANK = {s: i for i, s in enumerate(reversed(list(Severity)))}


def _open(runs: list[_Latest], findings: dict[int, list[Finding]]) -> list[Finding]:
    out = [f for r in runs for f in findings.get(r.id, [])]
    return sorted(out, key=lambda f: (_SEVERITY_RANK[Severity(f.severity)], f.id))


SuiteVerdict = tuple[AuditLevel | None, list[_suites.LevelResult], dt.datetime | None]


def suite_levels(session: Session, services: Sequence[ServiceRead], suites: Sequence[Suite], *,
                 only: AuditLevel | None = None) -> dict[str, dict[Suite, SuiteVerdict]]:
    """For each service and suite: highest level passed, every level's result, newest run time.

    With `only`, just that level is judged (what the readiness providers need): the result
    list holds one entry and the "highest level" is `only` when it passes, else None.
    """
    now = clock.utcnow()
    ids = [s.id for s in services]
    out: dict[str, dict[Suite, SuiteVerdict]] = {}
    for chunk in range(0, len(ids), 900):
        by_service, findings = _latest(session, ids[chunk:chunk + 900])
        for svc in services[chunk:chunk + 900]:
            per_suite: dict[Suite, SuiteVerdict] = {}
            for suite in suites:
                runs = by_service.get(svc.id, {}).get(suite, [])
                open_findings = [OpenFinding(Severity(f.severity), f.title, f.tool) for f in _open(runs, findings)]
                facts = [r.facts for r in runs]
                last = max((f.ran_at for f in facts), default=None)
                if only is not None:
                    result = _suites.evaluate_level(suite, only, service=svc.name, runs=facts, findings=open_findings, now=now)
                    per_suite[suite] = (only if result.passed else None, [result], last)
                else:
                    passed, results = _suites.highest_level(suite, service=svc.name, runs=facts, findings=open_findings, now=now)
                    per_suite[suite] = (passed, results, last)
            out[svc.name] = per_suite
    return out


def service_audits(session: Session, *, service: str, actor: Actor) -> ServiceAudits:
    """Every suite of one service: highest level passed, each level's problems, open findings.
    Raises ServiceNotFound, PermissionDenied."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "assessment.read", team=svc.team, service=service)
    by_service, findings = _latest(session, [svc.id])
    levels = suite_levels(session, [svc], list(Suite))[svc.name]
    suites = []
    for suite in Suite:
        passed, results, last = levels[suite]
        runs = by_service.get(svc.id, {}).get(suite, [])
        suites.append(SuiteStatus(
            suite=suite, passed_level=passed, last_run_at=last,
            levels=[LevelStatus(level=r.level, passed=r.passed, problems=list(r.problems)) for r in results],
            open_findings=[FindingRead.model_validate(f) for f in _open(runs, findings)],
        ))
    return ServiceAudits(service=service, suites=suites)
