"""Lint the runbooks: what makes operational knowledge untrustworthy, per document and per
service.

Errors: a file that does not parse; a review that expired (stale); a review by the document's
last author; an alert rule or SLO burn alert of a service with no runbook covering it; a
document naming a service that does not exist. Warnings: a document naming an alertname no
rule or built-in alert produces; a relative link to a file that is not in the folder; a
service whose bus factor is 1 (one distinct person authored (git), reviewed, or ran steps of
its documents in the last 180 days)."""

from __future__ import annotations

import datetime as dt
import posixpath
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.monitoring.metrics import rules as alert_rules
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.runbooks import service
from watchkeeper.runbooks.models import RunbookDocument, RunbookReview, StepRun
from watchkeeper.runbooks.schemas import BusFactor, Finding, LintReport, alert_matches, parse_alert

BUS_FACTOR_WINDOW = dt.timedelta(days=180)
# Alerts Watchkeeper raises itself (signals.emit callers), besides one per alert rule.
BUILTIN_ALERTS = frozenset({"MonitorDown", "HeartbeatMissed", "MonitorWarning", "SLOErrorBudgetBurn", "BackupMissed",
                            "BackupRPOBreached", "ReadinessRegression"})
_READER = Actor.system("runbooks", "lint")


def _covered(docs: list[RunbookDocument], service_name: str | None, labels: dict[str, str]) -> bool:
    for doc in docs:
        if doc.services and service_name and service_name not in doc.services:
            continue
        if any(alert_matches(entry, labels) for entry in doc.alerts):
            return True
    return False


def coverage(session: Session, docs: list[RunbookDocument], *, service_name: str | None = None, rules=None,
             objectives=None) -> list[Finding]:
    """Alert rules and SLO burn alerts (of one service, or all) that no runbook covers. Batches
    pass the rules and SLOs they listed once."""
    out: list[Finding] = []
    if rules is None:
        rules = alert_rules.list_rules(session, actor=_READER, service=service_name)
    if objectives is None:
        objectives = slos.list_slos(session, actor=_READER, service=service_name)
    for rule in rules:
        if not rule.enabled or (service_name is not None and rule.service != service_name):
            continue
        labels = {**rule.labels, "alertname": rule.name, "rule": rule.name, "severity": rule.severity,
                  **({"service": rule.service} if rule.service else {})}
        if rule.annotations.get("runbook_url") or _covered(docs, rule.service, labels):
            continue
        out.append(Finding(severity="error", check="uncovered_alert_rule", service=rule.service,
                           message=f"alert rule '{rule.name}'{' of ' + rule.service if rule.service else ''} has no runbook; "
                                   f"list `{rule.name}` under `alerts:` in one (`watchkeeper runbook init "
                                   f"{rule.service or 'SERVICE'}`) or set its runbook_url annotation"))
    for slo in objectives:
        if not slo.alerting or (service_name is not None and slo.service != service_name):
            continue
        labels = {"alertname": "SLOErrorBudgetBurn", "slo": slo.name, "slo_kind": slo.kind,
                  **({"service": slo.service} if slo.service else {})}
        if _covered(docs, slo.service, labels):
            continue
        out.append(Finding(severity="error", check="uncovered_slo_alert", service=slo.service,
                           message=f"SLO '{slo.name}' burn alerts (SLOErrorBudgetBurn) have no runbook; list "
                                   f"`{{alertname=\"SLOErrorBudgetBurn\", slo=\"{slo.name}\"}}` under `alerts:` in one"))
    return out


def activity(session: Session, *, now: dt.datetime) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(path, reviewer) of reviews approved and (path, person) of steps run in the last 180 days."""
    since = now - BUS_FACTOR_WINDOW
    reviews = [(p, r) for p, r in session.execute(select(RunbookReview.path, RunbookReview.reviewer).where(
        RunbookReview.status == "approved", RunbookReview.approved_at >= since)).all() if r]
    runs = list(session.execute(select(StepRun.path, StepRun.requested_by).where(StepRun.queued_at >= since)).all())
    return [tuple(x) for x in reviews], [tuple(x) for x in runs]


def people(docs: list[RunbookDocument], done: tuple[list, list], now: dt.datetime) -> set[str]:
    """Distinct people who authored (git), reviewed, or ran steps of `docs` in the last 180 days."""
    since = now - BUS_FACTOR_WINDOW
    out: set[str] = set()
    paths = {d.path for d in docs}
    for doc in docs:
        for author in doc.authors:
            if dt.datetime.fromisoformat(author["at"]) >= since:
                out.add(author["handle"].lower())
        if doc.reviewed_by and doc.reviewed_at and doc.reviewed_at >= since.date():
            out.add(doc.reviewed_by.lower())
    reviews, runs = done
    out.update(who.lower() for path, who in reviews if path in paths)
    out.update(who.lower() for path, who in runs if path in paths)
    return out


def bus_factor(session: Session, *, service_name: str, now: dt.datetime | None = None) -> BusFactor:
    """Distinct people who authored (git), reviewed, or ran steps of the service's documents in the last 180 days."""
    now = now or clock.utcnow()
    found = sorted(people(service.documents_of(session, service=service_name), activity(session, now=now), now))
    return BusFactor(service=service_name, people=found, count=len(found))


def _links(doc: RunbookDocument, folder, paths: set[str]) -> list[Finding]:
    out = []
    for link in doc.links:
        href = link["href"]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path or href.startswith("/"):
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), parts.path))
        exists = target in paths or (folder is not None and (folder / target).exists() and not target.startswith(".."))
        if not exists:
            out.append(Finding(severity="warning", check="broken_link", path=doc.path, line=link["line"],
                               message=f"{doc.path}:{link['line']}: the link to '{href[:200]}' names no file in the runbooks folder"))
    return out


def findings(session: Session, *, service_name: str | None = None, now: dt.datetime | None = None) -> LintReport:
    """The lint report (all services, or one). For `lint` and the readiness providers, which check first."""
    now = now or clock.utcnow()
    all_docs = service.documents_of(session)
    docs = [d for d in all_docs if service_name is None or service_name in d.services]
    out: list[Finding] = []
    settings = service.settings_row(session)
    if settings is not None and settings.last_sync_error:
        if settings.last_sync_error.startswith(service.MISSING_FOLDER):
            out.append(Finding(severity="error", check="folder", message=settings.last_sync_error))
        else:
            for line in settings.last_sync_error.splitlines():
                out.append(Finding(severity="error", check="parse", path=line.split(":", 1)[0], message=line))
    folder = service.folder_path(settings.path) if settings is not None else None
    paths = {d.path for d in all_docs}
    services = {s.name for s in catalog.list_services(session, actor=_READER)}
    known_alerts = BUILTIN_ALERTS | {r.name for r in alert_rules.list_rules(session, actor=_READER)}
    approvals = service.latest_approvals(session)
    cadence = service.default_cadence(session)
    done = activity(session, now=now)
    for doc in docs:
        status = service.review_status(session, doc, now=now, approval=approvals.get(doc.path), cadence=cadence)
        if not status.current:
            check = "never_reviewed" if status.last_reviewed is None else (
                "stale" if status.review_due and status.review_due < now.date() else "reviewer_is_author")
            out.append(Finding(severity="error", check=check, path=doc.path, message=status.reason))
        for name in doc.services:
            if name not in services:
                out.append(Finding(severity="error", check="unknown_service", path=doc.path, service=name,
                                   message=f"{doc.path} names service '{name}', which is not in the catalog"))
        for entry in doc.alerts:
            alertname, _ = parse_alert(entry)
            if alertname is not None and alertname not in known_alerts:
                out.append(Finding(severity="warning", check="unknown_alert", path=doc.path,
                                   message=f"{doc.path} covers alert '{alertname}', which no alert rule or built-in alert raises"))
        out.extend(_links(doc, folder, paths))
    out.extend(coverage(session, all_docs, service_name=service_name))
    wanted = sorted({s for d in docs for s in d.services if s in services} | ({service_name} if service_name else set()))
    factors = []
    for name in wanted:
        factor = BusFactor(service=name, people=sorted(people([d for d in all_docs if name in d.services], done, now)), count=0)
        factor.count = len(factor.people)
        factors.append(factor)
        if factor.count <= 1:
            who = f"only {factor.people[0]}" if factor.people else "nobody"
            out.append(Finding(severity="warning", check="bus_factor", service=name,
                               message=f"bus factor of '{name}' is {factor.count}: {who} authored, reviewed or ran its "
                                       "runbooks in the last 180 days; have someone else review one or run a step"))
    return LintReport(findings=out, bus_factor=factors, documents=len(docs))


def lint(session: Session, *, actor: Actor, service_name: str | None = None) -> LintReport:
    """The lint report the actor may see: all (runbook.read), or one service's."""
    if service_name is not None:
        svc = catalog.find_service(session, name=service_name)
        require(actor, "runbook.read", team=svc.team if svc else None, service=service_name)
    else:
        require(actor, "runbook.read")
    report = findings(session, service_name=service_name)
    if actor.superuser:
        return report
    cache: dict[str, str | None] = {}

    def sees(name: str) -> bool:
        return actor.can("runbook.read", team=service.team_of(session, name, cache), service=name)

    services_of = {d.path: d.services for d in service.documents_of(session)}

    def visible(f: Finding) -> bool:
        if f.service is not None:
            return sees(f.service)
        names = services_of.get(f.path or "", [])
        return not names or any(sees(n) for n in names)

    return LintReport(findings=[f for f in report.findings if visible(f)],
                      bus_factor=[b for b in report.bus_factor if sees(b.service)], documents=report.documents)
