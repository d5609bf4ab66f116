"""Readiness evidence `runbook_reviewed` and the audit measure `runbooks_lint_clean`.

runbook_reviewed: PASS when the service has at least one document of kind `runbook` reviewed
within its cadence by someone other than its last author, and every alert rule and SLO burn
alert of the service is covered by a runbook; WARN when all that holds but the service's bus
factor is 1; FAIL otherwise, naming what is missing. UNKNOWN while no runbooks folder is
configured at all. The batch form reads the documents, reviews, rules and SLOs once for every
service it is asked about."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.evidence import Evidence, Status
from watchkeeper.monitoring.metrics import rules as alert_rules
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.runbooks import lint
from watchkeeper.runbooks import service as runbooks

_READER = Actor.system("runbooks", "evidence")


@dataclasses.dataclass
class _Facts:
    now: dt.datetime
    docs: list
    approvals: dict
    cadence: dt.timedelta
    rules: list
    objectives: list
    done: tuple


def _facts(session: Session) -> _Facts:
    now = clock.utcnow()
    return _Facts(now=now, docs=runbooks.documents_of(session), approvals=runbooks.latest_approvals(session),
                  cadence=runbooks.default_cadence(session), rules=alert_rules.list_rules(session, actor=_READER),
                  objectives=slos.list_slos(session, actor=_READER), done=lint.activity(session, now=now))


def _judge(session: Session, name: str, facts: _Facts) -> Evidence:
    link = f"/runbooks?service={name}"
    mine = [d for d in facts.docs if name in d.services]
    reviewed = []
    for doc in mine:
        if doc.kind != "runbook":
            continue
        status = runbooks.review_status(session, doc, now=facts.now, approval=facts.approvals.get(doc.path), cadence=facts.cadence)
        reviewed.append((doc, status))
    reviewed.sort(key=lambda pair: (not pair[1].current, -(pair[1].last_reviewed.toordinal() if pair[1].last_reviewed else 0),
                                    pair[0].path))
    uncovered = lint.coverage(session, facts.docs, service_name=name, rules=facts.rules, objectives=facts.objectives)
    people = sorted(lint.people(mine, facts.done, facts.now))
    details = {"runbooks": [d.path for d, _ in reviewed], "bus_factor": len(people), "people": people,
               "uncovered": [f.message for f in uncovered]}
    problems: list[str] = []
    current = [(d, s) for d, s in reviewed if s.current]
    if not reviewed:
        problems.append(f"no runbook names '{name}' (write one: `watchkeeper runbook init {name} --kind runbook`)")
    elif not current:
        problems.append(f"none of the {len(reviewed)} runbook(s) of '{name}' is reviewed within its cadence by someone other "
                        f"than its last author ({reviewed[0][1].reason})")
    if uncovered:
        shown = "; ".join(f.message.split(";")[0] for f in uncovered[:3])
        problems.append(shown + (f"; and {len(uncovered) - 3} more uncovered alert(s)" if len(uncovered) > 3 else ""))
    if problems:
        return Evidence(Status.FAIL, "; ".join(problems), observed_at=facts.now, link=link, details=details)
    doc, best = current[0]
    text = f"'{doc.path}' reviewed {best.last_reviewed} by {best.reviewed_by} (due {best.review_due}); every alert is covered"
    if len(people) <= 1:
        who = people[0] if people else "nobody"
        return Evidence(Status.WARN, f"{text}, but the bus factor is {len(people)} (only {who} in 180 days): have "
                                     "someone else review a runbook or run a step", observed_at=facts.now, link=link, details=details)
    return Evidence(Status.PASS, f"{text}; bus factor {len(people)}", observed_at=facts.now, link=link, details=details)


def _not_configured(session: Session) -> Evidence | None:
    settings = runbooks.settings_row(session)
    if settings is None:
        return Evidence(Status.UNKNOWN, "no runbooks folder is configured; add a `runbooks:` section (path: ...) to "
                                        "watchkeeper.yaml and apply it (docs/runbooks-domain.md)")
    if settings.last_sync_error and settings.last_sync_error.startswith(runbooks.MISSING_FOLDER):
        return Evidence(Status.FAIL, settings.last_sync_error)
    return None


def runbook_reviewed_batch(session: Session, services) -> dict[str, Evidence]:
    missing = _not_configured(session)
    if missing is not None:
        return {svc.name: dataclasses.replace(missing, link=f"/runbooks?service={svc.name}") for svc in services}
    facts = _facts(session)
    return {svc.name: _judge(session, svc.name, facts) for svc in services}


def runbook_reviewed(session: Session, service) -> Evidence:
    return runbook_reviewed_batch(session, [service])[service.name]


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
