"""Permission checks live in the services (issue 8 item 5).

Every public function of a domain module that takes a `session` either checks an `actor` or is
declared here as internal, with the reason it needs none. This test enumerates them all:

- a function that takes an actor is called with a real database session and an actor that holds
  nothing; it must raise PermissionDenied, and must have changed no row when it does; the same
  call by an admin must not be refused (so the refusal is about the actor, not the arguments);
- a function that takes no actor must be declared in INTERNAL with a reason, and no adapter
  (API routes, pages, CLI commands, config file) may call it unless it is in CREDENTIALS (the
  functions that establish who is acting, or that a credential other than an actor guards);
- adapters never call `require()` or `actor.can()` to enforce a rule themselves.

Adding a service function without a check, or an adapter that calls an unchecked function,
fails here with a message that says what to do.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import importlib
import inspect
import pkgutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import watchkeeper
from watchkeeper.auth.service import Actor
from watchkeeper.db.base import Base
from watchkeeper.errors import PermissionDenied

from tests.factories.auth import make_persona
from tests.factories.world import (
    World, backup_create, deploy_policy, freeze_create, receiver_config, runbooks_config, seed_world, token_create,
)

SRC = Path(watchkeeper.__file__).resolve().parent

# ---------------------------------------------------------------- what counts as what


def _is_adapter(module: str) -> bool:
    """API routes, pages, CLI commands and the config file: they translate, they do not decide."""
    parts = module.split(".")
    if len(parts) < 2:
        return False
    return (parts[1] in ("api", "web", "cli", "configfile") and not module.startswith("watchkeeper.configfile.plan")) \
        or parts[-1] in ("api", "cli")


# Whole modules whose functions are internal: the worker's engines and the building blocks other
# services call after checking. No adapter may call into them (see test_adapters_call_only_checked_functions).
INTERNAL_MODULES: dict[str, str] = {
    "jobs": "job handlers, run by the worker as its system actor (JobContext.actor)",
    "evidence": "readiness evidence providers, called by readiness evaluation after it checked readiness.read",
    "watchkeeper.alerting._bulk": "bulk statements of the ingest writer",
    "watchkeeper.alerting.escalations": "the alert pipeline's side of on-call paging, called by flush_group and by "
                                        "acknowledge (which checks alert.ack) and the AlertStatusChanged subscription",
    "watchkeeper.alerting.groups": "group flushing, run by the worker's flush job",
    "watchkeeper.alerting.ingest": "the ingest pipeline behind alerting.service.ingest, which checks alert.ingest",
    "watchkeeper.alerting.inhibition": "a suppressor consulted by ingest and flushes",
    "watchkeeper.assessments.measures": "measures read by the built-in suites, after run_builtin checked",
    "watchkeeper.db.statements": "SQL helpers",
    "watchkeeper.events": "the in-process event bus",
    "watchkeeper.incidents._snapshot": "the alert subscribers' per-transaction cache of what concerns incidents",
    "watchkeeper.monitoring.probes._rows": "row helpers of the probes room",
    "watchkeeper.monitoring.probes._transitions": "status transitions made by results and heartbeats",
    "watchkeeper.monitoring.probes.results": "probe results, written by the runner (the worker)",
    "watchkeeper.monitoring.slos.evaluation": "SLO evaluation, run by the worker",
    "watchkeeper.deploys.rules": "the deploy gate's rules, evaluated by gate.check after it checked deploy.check",
    "watchkeeper.notify.delivery": "outbox delivery, run by the worker",
    "watchkeeper.worker": "the worker process: runner, leader election, liveness (it runs jobs as its system actor)",
}

# Single functions that take a session and need no actor, each with its reason.
INTERNAL: dict[str, str] = {
    # deploys
    "watchkeeper.deploys.rollback.queue_rollback": "writes a rollback row and its job, for the checked requests and the rollout worker",
    "watchkeeper.deploys.service.publish": "puts a deploy on the timelines, called by the checked functions that changed it",
    "watchkeeper.deploys.service.announce_finish": "publishes a finished deploy, called by finish_deploy and the rollout worker",
    "watchkeeper.deploys.rollout.watch": "rolls back rollouts whose step job died (the leader's deploys.watch job)",
    "watchkeeper.deploys._measured.drill_evidence": "the measured half of rollback_drilled, for the evidence provider and the gate's rule",
    "watchkeeper.deploys.freezes.in_force": "freezes and windows in force for a service, for the gate's rules",
    "watchkeeper.deploys.freezes.policy_of": "a service's deploy policy, for the gate's rules and the worker's hooks",
    # backups
    "watchkeeper.backups.service.schedule": "queues the runs whose cron slot has come (the worker's schedule job)",
    "watchkeeper.backups.service.reap": "fails runs a dead worker left running (the worker's schedule job)",
    "watchkeeper.backups.health.measure": "measured RPO/RTO of one job, for the readiness provider and watch()",
    "watchkeeper.backups.health.watch": "raises and resolves the backup alerts (the worker's schedule job)",
    # runbooks
    "watchkeeper.runbooks.service.settings_row": "the runbooks section's row, for the port, lint, steps and jobs",
    "watchkeeper.runbooks.service.default_cadence": "the default review cadence, for review_status",
    "watchkeeper.runbooks.service.team_of": "a service's team, for scope checks made by the caller",
    "watchkeeper.runbooks.service.latest_approval": "the last approved review of a document, for review_status",
    "watchkeeper.runbooks.service.review_status": "whether a document's review is current, for callers that checked",
    "watchkeeper.runbooks.service.documents_of": "stored documents for the port, lint and evidence (which check or are internal)",
    "watchkeeper.runbooks.service.stored_digest": "what apply compares with the folder (config_sync, after config.apply)",
    "watchkeeper.runbooks.documents.reviewed_documents": "the port other domains call after checking their own permission",
    "watchkeeper.runbooks.documents.reviewed_document": "the port other domains call after checking their own permission",
    "watchkeeper.runbooks.documents.runbooks_for_alert": "the port alerting/incidents call for an alert they already showed",
    "watchkeeper.runbooks.lint.coverage": "uncovered alerts, for lint and the readiness provider",
    "watchkeeper.runbooks.lint.bus_factor": "bus factor of a service, for lint and the readiness provider",
    "watchkeeper.runbooks.lint.activity": "who reviewed and ran steps lately, for the bus factor (lint and readiness)",
    "watchkeeper.runbooks.service.latest_approvals": "last approved review per document, for lint and readiness batches",
    "watchkeeper.runbooks.lint.findings": "the unfiltered report behind lint() (which checks) and the providers",
    "watchkeeper.runbooks.reminders.due_soon": "documents whose review is due, for the reminders job",
    "watchkeeper.runbooks.reminders.send": "writes review reminders to the outbox (the worker's hourly job)",
    "watchkeeper.runbooks.reminders.ask_reviewers": "emails reviewers from request_review, which checked runbook.update",
    "watchkeeper.runbooks.steps.reap": "fails step runs a dead worker left running (the worker's sync job)",
    # oncall
    "watchkeeper.oncall.coverage.analyse": "coverage of one service, called by the readiness provider and by coverage(), which checks",
    "watchkeeper.oncall.coverage.level_one_of": "level 1 of a policy the caller already read",
    "watchkeeper.oncall.policies.policy_of": "which policy a service uses, for this domain's analyses (callers check)",
    "watchkeeper.oncall.policies.any_policy": "whether any policy exists (the readiness provider's UNKNOWN), no data returned",
    "watchkeeper.oncall.service.segments": "a schedule's final timeline for this domain's analyses, which check their own",
    "watchkeeper.oncall.service.who_at": "who is on call at a time, for analyses and callers that checked",
    # incidents
    "watchkeeper.incidents.service.open_incident": "creates the row for declare (checks) and the auto-declare subscriber",
    "watchkeeper.incidents.service.open_for_services": "open incidents of services, for this domain's subscribers",
    "watchkeeper.incidents.service.link_alert": "links an alert for attach_alert (checks) and the alert subscriber",
    "watchkeeper.incidents.service.acknowledge_from_alert": "an alert ack (checked by alerting) acknowledges its incident",
    "watchkeeper.incidents.timeline.add": "appends an entry for a checked change or a subscriber",
    "watchkeeper.incidents.timeline.entries": "entries for get_incident and the status page (which decide what is shown)",
    "watchkeeper.incidents.paging.page": "pages for a checked declare/severity change or the auto-declare subscriber",
    "watchkeeper.incidents.declare.on_alert_status_changed": "event subscriber: attaches or declares from alerts",
    "watchkeeper.incidents.declare.on_alert_acknowledged": "event subscriber: an alert ack on the timeline",
    "watchkeeper.incidents.declare.on_service_activity": "event subscriber: the timeline port",
    "watchkeeper.incidents.settings.declared_severities": "the stored incidents: section, for this domain and readiness",
    "watchkeeper.incidents.settings.severities": "the stored incidents: section, for this domain",
    "watchkeeper.incidents.settings.policies": "the stored incidents: section, for the auto-declare subscriber",
    "watchkeeper.incidents.settings.status_page": "the public status page's settings (public by design)",
    "watchkeeper.incidents.settings.process_document": "the stored incidents: section, for readiness",
    "watchkeeper.incidents.settings.postmortem_rules": "the stored incidents: section, for postmortems",
    "watchkeeper.oncall.policies.policy_by_name": "a policy for a starter of escalations that decided to page (the alert pipeline)",
    "watchkeeper.oncall.policies.team_members": "who a team target pages, for escalation steps and coverage",
    "watchkeeper.oncall.escalation.open_for": "the open escalations of refs, for the alert pipeline (which checked)",
    "watchkeeper.oncall.escalation.resolve_targets": "who a level pages at step time (the worker's step job)",
    "watchkeeper.oncall.escalation.contacts": "how a paged person is reached (the worker's step job)",
    "watchkeeper.oncall.escalation.step": "one escalation step, run by the worker's oncall.step job",
    "watchkeeper.oncall.escalation.check_sla": "a response-target check, run by the worker's oncall.sla_check job",
    "watchkeeper.incidents.paging.announce": "tells the internal subscribers of a checked change",
    "watchkeeper.incidents.paging.send_review": "sends the weekly review (the worker's job)",
    "watchkeeper.incidents.settings.notify_rules": "the stored incidents: section, for announcements",
    "watchkeeper.incidents.service.known_person": "validates a handle for a checked function",
    "watchkeeper.incidents.postmortems.due_at": "when a postmortem is due, for checked reads and the review",
    "watchkeeper.incidents.postmortems.fingerprint": "an incident's fingerprint, for recurrence",
    "watchkeeper.incidents.postmortems.check_recurrence": "reopens action items when a declared incident recurs (declare checks)",
    "watchkeeper.incidents.postmortems.notify_overdue": "periodic: tells subscribers of overdue postmortems (worker)",
    "watchkeeper.incidents.postmortems.verify_due": "periodic: verifies action items whose fix held (worker)",
    "watchkeeper.incidents.statuspage.public_status": "the public status page: it decides what is public, no data beyond that",
    # alerting
    "watchkeeper.alerting.routing.load": "the routing tree for ingest and flushes",
    "watchkeeper.alerting.routing.receiver_channels": "a receiver's channels, for flushes and drills",
    "watchkeeper.alerting.service.on_signal_changed": "event subscriber: raises an alert for a signal",
    "watchkeeper.alerting.service.on_window_changed": "event subscriber: a maintenance window changed",
    "watchkeeper.alerting.service.alerts_of_link": "the alerts a signed one-click link names; the signature is the credential",
    "watchkeeper.alerting.service.find_alert": "lookup by fingerprint for the pipeline and tests",
    "watchkeeper.alerting.service.reapply_suppression": "re-judges firing alerts after a silence or window changed (the change was checked)",
    "watchkeeper.alerting.service.expire_drills": "periodic: fails drills past their deadline",
    "watchkeeper.alerting.service.last_passed_drill": "readiness evidence",
    "watchkeeper.alerting.silences.suppressor": "a suppressor consulted by ingest and flushes",
    # assessments
    "watchkeeper.assessments.service.suite_levels": "levels for evidence and service_audits (which checks)",
    # audit
    "watchkeeper.audit.service.chain_length": "a count, exported on the public /metrics and shown beside list_events (which checks)",
    "watchkeeper.audit.service.events_since_checkpoint": "for the periodic checkpoint job",
    # auth: these establish who is acting
    "watchkeeper.auth.service.get_user": "lookup for authentication and the user service functions",
    "watchkeeper.auth.service.count_users": "whether the first admin still has to be created",
    "watchkeeper.auth.service.ensure_first_admin": "creates the first admin on an empty database (serve/init)",
    "watchkeeper.auth.service.login": "establishes the actor from a password",
    "watchkeeper.auth.service.resolve_session": "establishes the actor from a session cookie",
    "watchkeeper.auth.service.authenticate_token": "establishes the actor from a bearer token",
    # catalog
    "watchkeeper.catalog.gate.evaluate": "the promotion gate, called by promote (which checks)",
    "watchkeeper.catalog.service.dependency_graph": "graph for readiness and inhibition",
    "watchkeeper.catalog.service.upstream_of": "graph for dependency inhibition",
    "watchkeeper.catalog.service.lookup_service": "for other domains, which check their permission on the service's team",
    "watchkeeper.catalog.service.find_service": "for other domains, which check their permission on the service's team",
    "watchkeeper.catalog.teams.team_row": "the team row services point at",
    "watchkeeper.catalog.teams.lookup_person": "for other domains, which check their own permission",
    # maintenance
    "watchkeeper.maintenance.service.active_for": "which windows cover a service now (suppression)",
    "watchkeeper.maintenance.service.suppressor": "a suppressor consulted by ingest and flushes",
    # monitoring
    "watchkeeper.monitoring.metrics.rules.evaluate_rule": "rule evaluation, run by the worker",
    "watchkeeper.monitoring.metrics.rules.evaluate_due": "rule evaluation, run by the worker",
    "watchkeeper.monitoring.metrics.store.ensure_series": "store primitive",
    "watchkeeper.monitoring.metrics.store.write": "store primitive (results, SLO events)",
    "watchkeeper.monitoring.metrics.store.find_series": "store primitive",
    "watchkeeper.monitoring.metrics.store.raw_points": "store primitive",
    "watchkeeper.monitoring.metrics.store.evaluate": "store primitive for rules, SLOs and uptime; adapters call store.query",
    "watchkeeper.monitoring.metrics.store.read_series": "store primitive for charts; adapters call store.series",
    "watchkeeper.monitoring.metrics.store.list_series": "store primitive",
    "watchkeeper.monitoring.metrics.store.rollup": "periodic roll-up (worker)",
    "watchkeeper.monitoring.metrics.store.drop": "store primitive (a deleted SLO's events)",
    "watchkeeper.monitoring.metrics.store.prune": "periodic retention (worker)",
    "watchkeeper.monitoring.probes.heartbeats.ping": "a heartbeat ping: the secret ping path is the credential",
    "watchkeeper.monitoring.probes.heartbeats.record_pings": "batched pings of the ping writer: the ping paths are the credential",
    "watchkeeper.monitoring.probes.heartbeats.check_heartbeats": "periodic: late heartbeats go down (worker)",
    "watchkeeper.monitoring.probes.history.counts_by_status": "counts for /metrics",
    "watchkeeper.monitoring.probes.service.find_monitor": "lookup for the runner and evidence",
    "watchkeeper.monitoring.probes.service.monitors_for_service": "readiness evidence",
    "watchkeeper.monitoring.probes.service.sync_locations": "keeps location rows in step after a checked change",
    "watchkeeper.monitoring.scope.scope_of": "the (team, service) a permission is checked against",
    # the job queue (core): the worker's side of it
    "watchkeeper.queue.service.enqueue": "queues work for a service function or a schedule that decided to",
    "watchkeeper.queue.service.claim": "the worker claims due jobs",
    "watchkeeper.queue.service.next_due": "the worker's sleep",
    "watchkeeper.queue.service.load": "the worker loads a claimed job",
    "watchkeeper.queue.service.renew": "the worker renews its lease",
    "watchkeeper.queue.service.complete": "the worker records a result",
    "watchkeeper.queue.service.fail": "the worker records a failure",
    "watchkeeper.queue.service.dead_expired_leases": "the worker's sweep",
    # signals (core)
    "watchkeeper.signals.service.emit": "records a signal transition (probes, rules, SLOs, readiness)",
    # notify
    "watchkeeper.notify.service.enqueue": "writes an outbox row for a flush (worker)",
    "watchkeeper.notify.service.for_refs": "notifications of an alert, for notifications_for_alert (which checks)",
    "watchkeeper.notify.service.lookup_outbox": "for retry_notification, which checks on the group's service",
    "watchkeeper.notify.service.counts": "counts for /metrics",
    "watchkeeper.notify.service.oldest_pending_age": "a gauge for /metrics",
    # readiness
    "watchkeeper.readiness.evaluation.gather": "evidence gathering behind get_report and scorecard (which check)",
    "watchkeeper.readiness.evaluation.evaluate_services": "evaluation behind refresh and scorecard (which check)",
    "watchkeeper.readiness.evaluation.gate": "the promotion gate provider, called by catalog.promote (which checks)",
    "watchkeeper.readiness.policies.tuning_of": "policy tuning for evaluation",
    "watchkeeper.readiness.policies.known_checks": "validation of config and waivers",
    "watchkeeper.readiness.policies.check_def": "validation of config and waivers",
    "watchkeeper.readiness.policies.policy_tuning": "policy tuning for evaluation",
    # sign-offs
    "watchkeeper.signoffs.service.roles": "stakeholder roles for evidence and sign-off validation",
    "watchkeeper.signoffs.service.active_signoffs": "readiness evidence",
}

# Functions that take an actor to record who acted, not to decide whether they may.
ACTOR_IS_NOT_A_CHECK: dict[str, str] = {
    "watchkeeper.audit.service.record": "writes the audit event; the caller has checked",
    "watchkeeper.audit.changes.record_update": "writes the audit event; the caller has checked",
    "watchkeeper.audit.changes.adopt": "writes the audit event of an adoption; the caller has checked",
    "watchkeeper.auth.service.logout": "ends the caller's own session",
    "watchkeeper.alerting.escalations.on_ack": "passes who acknowledged on; alerting.acknowledge checked alert.ack",
    "watchkeeper.oncall.escalation.start": "records who started paging (the alert pipeline, whose flush decided to)",
    "watchkeeper.oncall.escalation.acknowledge_refs": "records who acknowledged; alerting.acknowledge checked alert.ack",
    "watchkeeper.oncall.escalation.resolve_refs": "records who resolved; the alert pipeline decided it is over",
    "watchkeeper.auth.service.change_own_password": "changes the caller's own password, the current one asked again: anyone signed in may",
    "watchkeeper.monitoring.scope.require_in_scope": "is the check",
    "watchkeeper.runbooks.service.may": "answers whether a page shows a button; the service checks again when it is used",
    "watchkeeper.monitoring.scope.visible": "builds a list's filter; the list function requires the permission first",
}

# Unchecked functions an adapter may call: they establish the actor, or another credential
# (a signed link, a ping path) guards them, or they expose a count that is public by design.
CREDENTIALS: dict[str, str] = {
    "watchkeeper.auth.service.login": "the sign-in form",
    "watchkeeper.auth.service.resolve_session": "every page request",
    "watchkeeper.auth.service.authenticate_token": "every API request",
    "watchkeeper.auth.service.count_users": "`serve` tells whether to create the first admin",
    "watchkeeper.auth.service.ensure_first_admin": "`serve` / `init` on an empty database",
    "watchkeeper.alerting.service.alerts_of_link": "/ack/<token>: the signed link is the credential",
    "watchkeeper.audit.service.chain_length": "the public /metrics count; the audit page calls list_events first",
    "watchkeeper.monitoring.probes.heartbeats.ping": "/ping/<path>: the secret path is the credential",
    "watchkeeper.monitoring.probes.heartbeats.record_pings": "/ping/<path>: the secret path is the credential",
    "watchkeeper.monitoring.probes.history.counts_by_status": "the public /metrics counts",
    "watchkeeper.notify.service.counts": "the public /metrics counts",
    "watchkeeper.notify.service.oldest_pending_age": "the public /metrics gauge",
    "watchkeeper.monitoring.scope.scope_of": "pages ask which team owns a monitor to show its buttons",
    "watchkeeper.incidents.statuspage.public_status": "/status, /status/feed.atom and /api/v1/status are public by design",
}


def _domain_modules() -> list[str]:
    out = []
    for info in pkgutil.walk_packages(watchkeeper.__path__, "watchkeeper."):
        if ".migrations" in info.name or _is_adapter(info.name) or info.name in ("watchkeeper.app", "watchkeeper.tables"):
            continue
        out.append(info.name)
    return sorted(out)


def _module_exempt(module: str) -> str | None:
    last = module.rsplit(".", 1)[-1]
    if last in INTERNAL_MODULES:
        return INTERNAL_MODULES[last]
    for prefix, reason in INTERNAL_MODULES.items():
        if "." in prefix and (module == prefix or module.startswith(prefix + ".")):
            return reason
    return None


def service_functions() -> dict[str, Callable]:
    """Every public function of a domain module that takes a session, by qualified name."""
    found: dict[str, Callable] = {}
    for name in _domain_modules():
        module = importlib.import_module(name)
        for attr, fn in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != name:
                continue
            if "session" in inspect.signature(fn).parameters:
                found[f"{name}.{attr}"] = fn
    return found


SERVICE_FUNCTIONS = service_functions()
# Panel providers (watchkeeper/panels.py) show nothing rather than refuse: judged by what they show.
PANELS = sorted(q for q, fn in SERVICE_FUNCTIONS.items() if getattr(fn, "panel_provider", False))
CHECKED = sorted(q for q, fn in SERVICE_FUNCTIONS.items()
                 if "actor" in inspect.signature(fn).parameters and q not in ACTOR_IS_NOT_A_CHECK and q not in PANELS)


def test_every_service_function_checks_an_actor_or_says_why_not():
    undeclared = [q for q, fn in SERVICE_FUNCTIONS.items()
                  if "actor" not in inspect.signature(fn).parameters
                  and q not in INTERNAL and _module_exempt(q.rsplit(".", 1)[0]) is None]
    assert not undeclared, (
        "these service functions take a session but no actor: give each an `actor` argument and check it "
        "(require(actor, ...)), or declare it in INTERNAL in this file with the reason it needs none: "
        + ", ".join(sorted(undeclared)))


def test_the_declarations_name_functions_that_exist():
    stale = [q for q in (*INTERNAL, *ACTOR_IS_NOT_A_CHECK, *CREDENTIALS) if q not in SERVICE_FUNCTIONS]
    assert not stale, f"declared here but no such service function (renamed or removed?): {', '.join(sorted(stale))}"
    checked_but_internal = [q for q in INTERNAL if "actor" in inspect.signature(SERVICE_FUNCTIONS[q]).parameters]
    assert not checked_but_internal, f"these take an actor now; remove them from INTERNAL: {checked_but_internal}"


# ---------------------------------------------------------------- adapters


def _adapter_files() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        if ".migrations" not in module and _is_adapter(module):
            out.append((module, path))
    return out


def _calls(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, qualified name) of every call an adapter makes to a watchkeeper function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("watchkeeper"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("watchkeeper"):
                    names[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        dotted = []
        while isinstance(target, ast.Attribute):
            dotted.append(target.attr)
            target = target.value
        if not isinstance(target, ast.Name) or target.id not in names:
            continue
        yield node.lineno, ".".join([names[target.id], *reversed(dotted)])


def _resolve(dotted: str) -> str | None:
    """The defining module's qualified name of `dotted` (re-exports followed), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        if inspect.isfunction(obj):
            return f"{obj.__module__}.{obj.__name__}"
        return None
    return None


def test_adapters_call_only_checked_functions():
    problems = []
    for module, path in _adapter_files():
        for line, dotted in _calls(module, path):
            qualified = _resolve(dotted)
            if qualified is None or qualified not in SERVICE_FUNCTIONS:
                continue
            fn = SERVICE_FUNCTIONS[qualified]
            if "actor" in inspect.signature(fn).parameters or qualified in CREDENTIALS:
                continue
            problems.append(f"{path.relative_to(SRC.parent)}:{line} calls {qualified}, which checks no actor")
    assert not problems, ("adapters must call service functions that check the actor (add an `actor` argument and "
                          "check it in the service), not enforce rules themselves:\n" + "\n".join(problems))


def test_adapters_do_not_enforce_permissions_themselves():
    problems = []
    for module, path in _adapter_files():
        for line, dotted in _calls(module, path):
            if _resolve(dotted) == "watchkeeper.auth.service.require":
                problems.append(f"{path.relative_to(SRC.parent)}:{line} calls require()")
    assert not problems, "move these checks into the service function the adapter calls:\n" + "\n".join(problems)


# ---------------------------------------------------------------- every checked function refuses


def _backup_outcome():
    from watchkeeper.backups._kinds import Outcome

    return Outcome(artifact="/tmp/watchkeeper-x.sqlite3", size_bytes=1)


def _verified():
    from watchkeeper.audit.schemas import VerifyReport

    return VerifyReport(ok=True, events_checked=1)


def _deploy_arguments(w: World) -> dict[str, dict[str, Any]]:
    from watchkeeper.deploys.calendar import PlannedDeploy
    from watchkeeper.deploys.schemas import DeployFinish, DeployStart, GateRequest, OverrideCreate

    policy = deploy_policy("s").model_dump(mode="json", exclude_none=True)
    return {
        "watchkeeper.deploys.service.start_deploy": {"data": DeployStart(service="s", version="9.9.9")},
        "watchkeeper.deploys.service.finish_deploy": {"deploy_id": w.deploy_id, "data": DeployFinish(outcome="succeeded")},
        "watchkeeper.deploys.service.get_deploy": {"deploy_id": w.deploy_id},
        "watchkeeper.deploys.rollout.start_rollout": {"data": DeployStart(service="s", version="9.9.9")},
        "watchkeeper.deploys.rollout.approve_step": {"deploy_id": w.deploy_id},
        "watchkeeper.deploys.rollout.abort_rollout": {"deploy_id": w.deploy_id},
        "watchkeeper.deploys.rollout.steps": {"deploy_id": w.deploy_id},
        "watchkeeper.deploys.rollback.get_rollback": {"rollback_id": w.rollback_id},
        "watchkeeper.deploys.calendar.plan_deploy": {"data": PlannedDeploy(service="s", version="9.9.9",
                                                                           at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))},
        "watchkeeper.deploys.releasenotes.release_notes": {"from_version": "0.9.0", "to_version": "1.0.0"},
        "watchkeeper.deploys.gate.check": {"data": GateRequest(service="s", version="9.9.9")},
        "watchkeeper.deploys.gate.request_override": {"data": OverrideCreate(service="s", version="9.9.9", reason="permission test reason")},
        "watchkeeper.deploys.gate.approve_override": {"override_id": w.gate_override_id},
        "watchkeeper.deploys.freezes.create_freeze": {"data": freeze_create("fz2")},
        "watchkeeper.deploys.freezes.update_freeze": {"data": freeze_create("fz")},
        "watchkeeper.deploys.freezes.set_policy": {"data": deploy_policy("s")},
        "watchkeeper.deploys.config_sync.policy_put": {"fields": policy},
        "watchkeeper.deploys.config_sync.policy_update": {"service": "s", "changes": {"drill_legs": ["rollback"]}},
        "watchkeeper.deploys.config_sync.policy_delete": {"service": "s"},
        "watchkeeper.deploys.config_sync.freeze_create": {"fields": freeze_create("fz2").model_dump(mode="json", exclude_none=True)},
        "watchkeeper.deploys.config_sync.freeze_update": {"changes": {"duration": "2d"}},
    }


def _arguments(qualified: str, fn: Callable, w: World) -> dict[str, Any]:
    """Keyword arguments that name the seeded objects, by parameter name (with a few
    function-specific ones). Only required parameters are filled in."""
    from watchkeeper.alerting.schemas import AlertFilter, AlertIn, AlertingConfig, Quality, SilenceCreate
    from watchkeeper.assessments.schemas import ResultCreate
    from watchkeeper.audit.schemas import AuditFilter
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from watchkeeper.audit.signing import Signer
    from watchkeeper.auth.schemas import Grant, UserCreate
    from watchkeeper.catalog.schemas import PersonCreate, PersonUpdate, ServiceCreate, ServiceUpdate, TeamCreate, TeamUpdate
    from watchkeeper.catalog.stages import Stage
    from watchkeeper.configfile.schema import WatchkeeperConfig
    from watchkeeper.maintenance.schemas import WindowCreate
    from watchkeeper.monitoring.metrics import language
    from watchkeeper.monitoring.metrics.schemas import MetricSample, RuleCreate, RuleUpdate
    from watchkeeper.monitoring.probes.schemas import MonitorCreate, MonitorUpdate
    from watchkeeper.monitoring.slos.schemas import SloCreate, SloUpdate
    from watchkeeper.notify.schemas import OutboxFilter
    from watchkeeper.queue.schemas import JobFilter
    from watchkeeper.signals.schemas import SignalFilter
    from watchkeeper.readiness.schemas import AttestationCreate, WaiverCreate
    from watchkeeper.signoffs.schemas import SignoffCreate, StakeholderRoleCreate
    from watchkeeper.oncall.schemas import OverrideCreate
    from watchkeeper.incidents.schemas import (
        ActionItemCreate, ActionItemUpdate, IncidentCreate, IncidentFilter, IncidentUpdate, NoteCreate, PostmortemUpdate,
        RoleAssign, StatusChange, StatusUpdate,
    )

    from tests.factories.world import policy_create, schedule_create

    module, name = qualified.rsplit(".", 1)
    names = {  # which seeded object a `name` parameter means, by module (or function)
        "watchkeeper.catalog.service": "s", "watchkeeper.catalog.teams": "t", "watchkeeper.monitoring.probes": "m",
        "watchkeeper.monitoring.metrics": "r", "watchkeeper.monitoring.slos": "o", "watchkeeper.alerting.routing": "rcv",
        "watchkeeper.maintenance": "w", "watchkeeper.signoffs": "role", "watchkeeper.readiness.reconcile.role": "role",
        "watchkeeper.monitoring.config_sync.monitor": "m", "watchkeeper.monitoring.config_sync.rule": "r",
        "watchkeeper.monitoring.config_sync.slo": "o",
        "watchkeeper.oncall.service": "sch", "watchkeeper.oncall.policies": "pol",
        "watchkeeper.oncall.config_sync.schedule": "sch", "watchkeeper.oncall.config_sync.policy": "pol",
        "watchkeeper.backups": "bk", "watchkeeper.incidents": "SEV1",
        "watchkeeper.deploys.freezes": "fz", "watchkeeper.deploys.config_sync.freeze": "fz",
    }
    data = {
        "ServiceCreate": ServiceCreate(name="s2", team="t"), "ServiceUpdate": ServiceUpdate(description="d"),
        "TeamCreate": TeamCreate(name="t2"), "TeamUpdate": TeamUpdate(display_name="T"),
        "PersonCreate": PersonCreate(handle="p2"), "PersonUpdate": PersonUpdate(full_name="P"),
        "MonitorCreate": MonitorCreate(name="m2", service="s", http={"url": "http://127.0.0.1:9/"}),
        "MonitorUpdate": MonitorUpdate(description="d"),
        "RuleCreate": RuleCreate(name="r2", expr="last(kpi[5m]) < 1", service="s"), "RuleUpdate": RuleUpdate(severity="warning"),
        "SloCreate": SloCreate(name="o", service="s", target=99.5, monitor="m"), "SloUpdate": SloUpdate(target=99.5),
        "SilenceCreate": SilenceCreate(matchers=["service=s"], duration="1h", comment="maintenance test"),
        "WindowCreate": WindowCreate(name="w", service="s", starts_at=dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc), duration="2h"),
        "ReceiverConfig": receiver_config("rcv"),
        "ResultCreate": ResultCreate(tool="scanner", level="basic"),
        "UserCreate": UserCreate(username="u2", password="u2-password-1234", grants=[Grant.parse("viewer")]),
        "TokenCreate": token_create(),
        "StakeholderRoleCreate": StakeholderRoleCreate(name="role", required_for=["launch"], people=["p"]),
        "SignoffCreate": SignoffCreate(checkpoint="refine", role="role", signer="p", note="reviewed it"),
        "WaiverCreate": WaiverCreate(check="oncall_coverage", reason="not built yet in this test", expires_in=dt.timedelta(days=3)),
        "AttestationCreate": AttestationCreate(check="authentication", by="p", link="https://example.com/r", expires_in=dt.timedelta(days=3)),
        "AlertFilter": AlertFilter(), "AuditFilter": AuditFilter(), "OutboxFilter": OutboxFilter(), "JobFilter": JobFilter(),
        "SignalFilter": SignalFilter(),
        "WatchkeeperConfig": WatchkeeperConfig(),
        "IncidentCreate": IncidentCreate(title="i2", services=["s"]), "IncidentFilter": IncidentFilter(),
        "StatusChange": StatusChange(status="resolved"), "IncidentUpdate": IncidentUpdate(severity="SEV4"),
        "RoleAssign": RoleAssign(role="scribe", person="p"), "NoteCreate": NoteCreate(text="a note"),
        "StatusUpdate": StatusUpdate(message="an update"), "PostmortemUpdate": PostmortemUpdate(root_cause="a cause"),
        "ActionItemCreate": ActionItemCreate(title="fix it"), "ActionItemUpdate": ActionItemUpdate(status="done", change_ref="deploy:1"),
        "ScheduleCreate": schedule_create("sch"), "PolicyCreate": policy_create("pol"),
        "OverrideCreate": OverrideCreate(schedule="sch", person="p", start=dt.datetime(2030, 2, 1, tzinfo=dt.timezone.utc),
                                         end=dt.datetime(2030, 2, 2, tzinfo=dt.timezone.utc)),
    }
    by_param: dict[str, Any] = {
        "service": "s", "suite": "security", "alert_id": w.alert_id, "silence_id": w.silence_id, "outbox_id": w.outbox_id,
        "waiver_id": w.waiver_id, "attestation_id": w.attestation_id, "signoff_id": w.signoff_id,
        "finding_id": w.finding_id, "job_id": w.job_id, "username": "u", "handle": "p", "prefix": w.token_prefix,
        "cookie": w.cookie, "reason": "because the test says so", "stage": Stage.PROD, "to": Stage.MVP, "enabled": False,
        "quality": Quality.NOISE, "labels": {"alertname": "X", "service": "s"}, "month": "2026-01",
        "span": dt.timedelta(hours=1), "since": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        "start": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "end": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
        "names": ["m"], "grant": Grant.parse("responder@team:t"), "password": "new-password-1234",
        "alerts": [AlertIn(labels={"alertname": "Z", "service": "s"})], "source": "api",
        "samples": [MetricSample(name="kpi", value=1.0)], "parsed": language.parse("last(kpi[5m]) > 0"),
        "selector": language.parse_selector("kpi"), "signer": Signer(Ed25519PrivateKey.generate()),
        "permission": "monitor.read", "items": {}, "kind": "service",
        "key": None, "changes": {}, "fields": {},
        "schedule": "sch", "override_id": w.override_id, "escalation_id": w.escalation_id, "person": "p",
        "incident_id": w.incident_id, "into_id": w.incident_id, "fingerprint": "0" * 16,
        "item_id": w.action_item_id, "day": dt.date(2026, 1, 5),
        "current": "not-the-password-1", "new": "another-password-12345",
        "path": "s.md", "step": "hello", "confirm": True, "annotations": {},
    }
    special: dict[str, dict[str, Any]] = {
        "watchkeeper.alerting.config_sync.receiver_put": {"fields": {"name": "rcv", "channels": receiver_config("rcv").model_dump(mode="json")["channels"]}},
        "watchkeeper.alerting.config_sync.routing_put": {"fields": {"route": {"receiver": "rcv"}}},
        "watchkeeper.alerting.routing.put_routing": {"route": AlertingConfig().route, "inhibit_rules": [], "dependency_inhibition": True},
        "watchkeeper.alerting.routing.apply_config": {"config": AlertingConfig()},
        "watchkeeper.alerting.service.acknowledge": {"alert_ids": [w.alert_id]},
        "watchkeeper.alerting.service.resolve": {"alert_ids": [w.alert_id]},
        "watchkeeper.alerting.service.mark": {"alert_ids": [w.alert_id]},
        "watchkeeper.catalog.service.adopt": {"kind": "service", "name": "s"},
        "watchkeeper.monitoring.config_sync.monitor_create": {"fields": {"name": "m2", "service": "s", "http": {"url": "http://127.0.0.1:9/"}}},
        "watchkeeper.monitoring.config_sync.monitor_update": {"fields": {"description": "d"}},
        "watchkeeper.monitoring.config_sync.rule_create": {"fields": {"name": "r2", "expr": "last(kpi[5m]) < 1", "service": "s"}},
        "watchkeeper.monitoring.config_sync.rule_update": {"fields": {"severity": "warning"}},
        "watchkeeper.monitoring.config_sync.slo_create": {"fields": {"name": "o2", "service": "s", "target": 99.0, "monitor": "m"}},
        "watchkeeper.monitoring.config_sync.slo_update": {"fields": {"target": 99.5}},
        "watchkeeper.readiness.policies.set_policy": {"items": {"runbook_reviewed": {"level": "required"}}},
        "watchkeeper.readiness.reconcile.role_create": {"fields": {"name": "role2", "required_for": ["refine"], "people": ["p"]}},
        "watchkeeper.readiness.reconcile.role_update": {"changes": {"description": "d"}},
        "watchkeeper.readiness.reconcile.policy_create": {"fields": {"stage": "PROD", "items": {}}},
        "watchkeeper.readiness.reconcile.policy_set": {"stage": "PROD", "fields": {"stage": "PROD", "items": {}}},
        "watchkeeper.readiness.reconcile.policy_delete": {"stage": "PROD"},
        "watchkeeper.readiness.reconcile.waiver_create": {"fields": {"service": "s", "check": "oncall_coverage", "reason": "not built yet in this test",
                                                                      "granted_by": "p", "expires": "2030-01-01T00:00:00+00:00"}},
        "watchkeeper.readiness.reconcile.waiver_update": {"key": "s/runbook_reviewed", "changes": {"reason": "still not built in this test"}},
        "watchkeeper.readiness.reconcile.waiver_delete": {"key": "s/runbook_reviewed"},
        "watchkeeper.readiness.reconcile.attestation_create": {"fields": {"service": "s", "check": "authentication", "by": "p",
                                                                           "link": "https://example.com/r", "expires": "2030-01-01T00:00:00+00:00"}},
        "watchkeeper.readiness.reconcile.attestation_update": {"key": "s/authentication", "changes": {"link": "https://example.com/2"}},
        "watchkeeper.readiness.reconcile.attestation_delete": {"key": "s/authentication"},
        "watchkeeper.maintenance.service.update_window": {"data": data["WindowCreate"]},
        "watchkeeper.backups.service.create_backup": {"data": backup_create("bk2")},
        "watchkeeper.backups.service.update_backup": {"data": backup_create("bk")},
        "watchkeeper.backups.service.request_run": {"kind": "backup"},
        "watchkeeper.backups.service.get_run": {"run_id": w.backup_run_id},
        "watchkeeper.backups.selfbackup.record_backup": {"outcome": _backup_outcome()},
        "watchkeeper.backups.selfbackup.record_restore": {"backup": Path("watchkeeper-x.sqlite3"), "report": _verified()},
        "watchkeeper.monitoring.slos.service.replace_slo": {"data": data["SloCreate"]},
        **_deploy_arguments(w),
        "watchkeeper.incidents.settings.put_setting": {"kind": "severity", "value": {"description": "d"}},
        "watchkeeper.incidents.settings.delete_setting": {"kind": "severity"},
        "watchkeeper.runbooks.service.configure": {"data": runbooks_config(w.runbooks_path)},
        "watchkeeper.runbooks.scaffold.render": {"kind": "runbook"},
        "watchkeeper.runbooks.scaffold.write": {"kind": "runbook", "directory": Path(tempfile.mkdtemp(prefix="wk-scaffold-"))},
        "watchkeeper.runbooks.steps.get_run": {"step_run_id": w.step_run_id},
    }
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.name in ("session", "actor") or param.default is not inspect.Parameter.empty:
            continue
        if param.name in special.get(qualified, {}):
            kwargs[param.name] = special[qualified][param.name]
        elif param.name == "name":
            key = next(k for k in sorted(names, key=len, reverse=True) if qualified.startswith(k))
            kwargs["name"] = names[key]
        elif isinstance(param.annotation, str) and param.annotation in data:
            kwargs[param.name] = data[param.annotation]
        elif param.name in by_param:
            kwargs[param.name] = by_param[param.name]
        else:
            raise AssertionError(f"{qualified}: no test value for parameter {param.name!r}; add one to _arguments")
    for param, value in special.get(qualified, {}).items():
        kwargs.setdefault(param, value)
    return kwargs


def _dump(session) -> dict[str, list]:
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = session.execute(select(table)).all()
        out[table.name] = sorted((tuple(map(repr, r)) for r in rows))
    return out


def _call(session, fn: Callable, kwargs: dict[str, Any]) -> tuple[BaseException | None, dict | None]:
    """Call `fn` inside a savepoint; return what it raised and, if refused, the rows as they stood."""
    savepoint = session.begin_nested()
    outcome: BaseException | None = None
    rows = None
    try:
        result = fn(session=session, **kwargs)
        if inspect.isgenerator(result):
            list(result)
    except Exception as exc:  # noqa: BLE001 - the outcome is what we judge
        outcome = exc
    if isinstance(outcome, PermissionDenied):
        rows = _dump(session)
    savepoint.rollback()
    return outcome, rows


def test_every_checked_service_function_refuses_an_actor_without_the_permission(session):
    """One seeded database; every function that takes an actor is called by `nobody` (a real
    user with no role) and must raise PermissionDenied with no row changed, then by an admin,
    who must not be refused."""
    world = seed_world(session)
    nobody = make_persona(session, "nobody", []).actor
    root = make_persona(session, "root", ["admin"]).actor
    session.flush()
    before = _dump(session)
    problems = []
    for qualified in CHECKED:
        fn = SERVICE_FUNCTIONS[qualified]
        kwargs = _arguments(qualified, fn, world)
        outcome, rows = _call(session, fn, kwargs | {"actor": nobody})
        if not isinstance(outcome, PermissionDenied):
            problems.append(f"{qualified}: an actor without roles got {type(outcome).__name__}: {outcome}"
                            if outcome else f"{qualified}: an actor without roles was not refused")
            continue
        if rows != before:
            changed = sorted(t for t in rows if rows[t] != before[t])
            problems.append(f"{qualified}: refused only after changing {', '.join(changed)}")
        outcome, _ = _call(session, fn, kwargs | {"actor": root})
        if isinstance(outcome, PermissionDenied):
            problems.append(f"{qualified}: an admin was refused too ({outcome}); the refusal is not about the actor")
    assert not problems, "\n".join(problems)


def test_every_panel_shows_nothing_to_an_actor_without_the_permission(session):
    """A panel provider asked by `nobody` shows no item (or no panel), changes no row, and shows
    the admin a panel: the overview and the service hub leak nothing outside the viewer's scope."""
    seed_world(session)
    nobody = make_persona(session, "nobody", []).actor
    root = make_persona(session, "root", ["admin"]).actor
    session.flush()
    before = _dump(session)
    assert len(PANELS) >= 8
    problems = []
    for qualified in PANELS:
        fn = SERVICE_FUNCTIONS[qualified]
        kwargs = {"service": "s"} if "service" in inspect.signature(fn).parameters else {}  # the seeded service
        shown = fn(session=session, actor=nobody, **kwargs)
        if shown is not None and shown.items:
            problems.append(f"{qualified}: showed {len(shown.items)} items to an actor without roles")
        if fn(session=session, actor=root, **kwargs) is None and qualified.rsplit(".", 1)[0] != "watchkeeper.maintenance.panels":
            problems.append(f"{qualified}: showed nothing to an admin")
    assert _dump(session) == before
    assert not problems, "\n".join(problems)
