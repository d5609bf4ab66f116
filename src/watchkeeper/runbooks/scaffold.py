"""`watchkeeper runbook init SERVICE --kind ...`: a template with the sections every SRE
expects, pre-filled from what Watchkeeper knows about the service (owner team, dependencies,
targets, monitors, alert rules and SLOs to cover, backup jobs and RPO/RTO, the escalation
policy). The front matter lists the alerts it covers, so lint counts them covered once the
file is reviewed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from watchkeeper import durations
from watchkeeper.auth.service import Actor, require
from watchkeeper.backups import service as backups
from watchkeeper.catalog import service as catalog
from watchkeeper.errors import Conflict, InvalidInput
from watchkeeper.monitoring.metrics import rules as alert_rules
from watchkeeper.monitoring.probes import service as probes
from watchkeeper.monitoring.probes.schemas import MonitorFilter
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.oncall import policies
from watchkeeper.runbooks.schemas import KINDS

SECTIONS = {
    "runbook": ["Symptoms", "Impact", "Diagnosis", "Mitigation", "Escalation", "Verification", "Follow-up"],
    "incident-process": ["Severities", "Declaring an incident", "Roles", "Communication", "Escalation", "Resolution",
                         "Postmortem"],
    "deploy-procedure": ["Before you deploy", "Deploy", "Verification", "If it goes wrong"],
    "rollback-procedure": ["When to roll back", "Rollback", "Data and migrations", "Verification", "Communication"],
    "dr-plan": ["Scope and targets", "Backups", "Restore", "Failover", "Verification", "Contacts", "Drills"],
    "other": ["Overview"],
}


def _lines(items: list[str], empty: str) -> str:
    return "\n".join(f"- {i}" for i in items) if items else f"- {empty}"


def render(session: Session, *, service: str, kind: str, actor: Actor) -> str:
    """The template's text (permission runbook.read on the service)."""
    kind = kind.replace("_", "-")
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, not {kind[:40]!r}", field="kind")
    svc = catalog.lookup_service(session, name=service)
    require(actor, "runbook.read", team=svc.team, service=svc.name)
    system = Actor.system("runbooks", "scaffold")
    monitors = probes.list_monitors(session, actor=system, filter=MonitorFilter(service=svc.name))
    rules = [r for r in alert_rules.list_rules(session, actor=system, service=svc.name) if r.enabled]
    objectives = slos.list_slos(session, actor=system, service=svc.name)
    jobs = backups.list_backups(session, actor=system, service=svc.name)
    policy = policies.policy_of(session, service=svc.name)
    alerts = [r.name for r in rules] + [f'{{alertname="SLOErrorBudgetBurn", slo="{o.name}"}}' for o in objectives if o.alerting]
    if kind != "runbook":
        alerts = []
    t = svc.targets
    targets = [f"{label}: {value}" for label, value in (
        ("SLO", f"{t.slo}% over {durations.format(t.slo_window)}" if t.slo and t.slo_window else None),
        ("SLA", f"{t.sla}%" if t.sla else None),
        ("RPO", durations.format(t.rpo) if t.rpo else None), ("RTO", durations.format(t.rto) if t.rto else None)) if value]
    title = {"runbook": f"{svc.display_name or svc.name}: runbook", "incident-process": f"{svc.display_name or svc.name}: incident process",
             "deploy-procedure": f"Deploying {svc.name}", "rollback-procedure": f"Rolling back {svc.name}",
             "dr-plan": f"{svc.display_name or svc.name}: disaster-recovery plan", "other": svc.name}[kind]
    quoted = ", ".join(f"'{a}'" if "{" in a else a for a in alerts)
    front = "\n".join([
        "---", f"title: {json.dumps(title)}", f"services: [{svc.name}]", f"alerts: [{quoted}]", f"kind: {kind}",
        f"owners: []            # people handles of team {svc.team}", "reviewers: []", "review_every: 90d",
        "# last_reviewed: {date: YYYY-MM-DD, by: HANDLE}   # set by the reviewer (not the author)", "---", ""])
    facts = "\n".join([
        f"# {title}", "", f"{svc.description or ''}".strip(), "",
        "## What Watchkeeper knows", "",
        f"- Owner team: {svc.team}; tier {svc.tier}; stage {svc.stage}",
        f"- Depends on: {', '.join(svc.depends_on) or 'nothing declared'}; used by: {', '.join(svc.dependents) or 'nothing declared'}",
        f"- Targets: {'; '.join(targets) or 'none declared (set targets: on the service)'}",
        f"- Escalation policy: {policy.name + ' (' + str(len(policy.levels)) + ' level(s))' if policy else 'none; declare one under oncall.policies'}",
        "", "### Monitors", "", _lines([f"{m.name} ({m.kind})" for m in monitors], "none declared"),
        "", "### Alerts this document covers", "", _lines([f"`{a}`" for a in alerts], "none (not a runbook)"),
        "", "### Backups", "", _lines([f"{b.name} ({b.kind})" for b in jobs], "none declared"), ""])
    body = "\n".join(f"## {title_}\n\nTODO\n" for title_ in SECTIONS[kind])
    if kind in ("runbook", "rollback-procedure"):
        body += ("\n## Steps\n\nSteps run through an allow-listed runner after a confirmation; the fence names the runner.\n\n"
                 "```sh {step=status confirm=true}\n"
                 f"echo 'replace with a command that shows the state of {svc.name}'\n```\n")
    return front + facts + "\n" + body


def write(session: Session, *, service: str, kind: str, actor: Actor, directory: Path, force: bool = False) -> Path:
    """Write the template to DIRECTORY/SERVICE-KIND.md. Refuses to overwrite unless `force`."""
    text = render(session, service=service, kind=kind, actor=actor)
    target = directory / f"{service}-{kind.replace('_', '-')}.md"
    if target.exists() and not force:
        raise Conflict(f"{target} exists; pass --force to overwrite it", code="runbook.exists")
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
