"""Readiness evidence `runbook_reviewed` and the audit measure `runbooks_lint_clean`.

runbook_reviewed: PASS when the service has at least one document of kind `runbook` reviewed
within its cadence by someone other than its last author, and every alert rule and SLO burn
alert of the service is covered by a runbook; WARN when all that holds but the service's bus
factor is 1; FAIL otherwise, naming what is missing. UNKNOWN while no runbooks folder is
configured at all."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.evidence import Evidence, Status
from watchkeeper.runbooks import documents, lint
from watchkeeper.runbooks import service as runbooks


def runbook_reviewed(session: Session, service) -> Evidence:
    name = service.name
    link = f"/runbooks?service={name}"
    if runbooks.settings_row(session) is None:
        return Evidence(Status.UNKNOWN, "no runbooks folder is configured; add a `runbooks:` section (path: ...) to "
                                        "watchkeeper.yaml and apply it (docs/runbooks-domain.md)", link=link)
    settings = runbooks.settings_row(session)
    if settings.last_sync_error and settings.last_sync_error.startswith(runbooks.MISSING_FOLDER):
        return Evidence(Status.FAIL, settings.last_sync_error, link=link)
    now = clock.utcnow()
    reviews = documents.reviewed_documents(session, service=name, kind="runbook")
    docs = runbooks.documents_of(session)
    uncovered = lint.coverage(session, docs, service_name=name)
    factor = lint.bus_factor(session, service_name=name, now=now)
    details = {"runbooks": [r.path for r in reviews], "bus_factor": factor.count, "people": factor.people,
               "uncovered": [f.message for f in uncovered]}
    problems: list[str] = []
    current = [r for r in reviews if r.current]
    if not reviews:
        problems.append(f"no runbook names '{name}' (write one: `watchkeeper runbook init {name} --kind runbook`)")
    elif not current:
        problems.append(f"none of the {len(reviews)} runbook(s) of '{name}' is reviewed within its cadence by someone other "
                        f"than its last author ({reviews[0].reason})")
    if uncovered:
        shown = "; ".join(f.message.split(";")[0] for f in uncovered[:3])
        problems.append(shown + (f"; and {len(uncovered) - 3} more uncovered alert(s)" if len(uncovered) > 3 else ""))
    if problems:
        return Evidence(Status.FAIL, "; ".join(problems), observed_at=now, link=link, details=details)
    best = current[0]
    text = f"'{best.path}' reviewed {best.last_reviewed} by {best.reviewed_by} (due {best.review_due}); every alert is covered"
    if factor.count <= 1:
        who = factor.people[0] if factor.people else "nobody"
        return Evidence(Status.WARN, f"{text}, but the bus factor is {factor.count} (only {who} in 180 days): have "
                                     "someone else review a runbook or run a step", observed_at=now, link=link, details=details)
    return Evidence(Status.PASS, f"{text}; bus factor {factor.count}", observed_at=now, link=link, details=details)


def lint_clean(session: Session, service) -> Evidence:
    if runbooks.settings_row(session) is None:
        return Evidence.unknown("no runbooks folder is configured")
    report = lint.findings(session, service_name=service.name)
    errors = [f for f in report.findings if f.severity == "error"]
    link = f"/runbooks?service={service.name}"
    if errors:
        return Evidence(Status.FAIL, f"{len(errors)} runbook lint error(s): {errors[0].message}", link=link,
                        details={"errors": [f.message for f in errors[:20]]})
    warnings = [f for f in report.findings if f.severity == "warning"]
    if warnings:
        return Evidence(Status.WARN, f"{len(warnings)} runbook lint warning(s): {warnings[0].message}", link=link)
    return Evidence(Status.PASS, f"runbooks of '{service.name}' lint clean ({report.documents} document(s))", link=link)
