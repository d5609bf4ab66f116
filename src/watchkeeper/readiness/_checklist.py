"""Pure checklist rules: the known checks, the default policy of each stage, tuning per tier,
and how an item's evidence, waiver and level combine into pass/block. No session, no clock.

A check id names one piece of evidence ("backup_restore_tested"); it means the same thing at
every stage, so waivers, attestations and history are kept per (service, check). A stage's
policy says which checks it asks for and whether each is required or recommended.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from watchkeeper.catalog.stages import Stage
from watchkeeper.evidence import Evidence, Status


class Level(StrEnum):
    REQUIRED = "required"
    RECOMMENDED = "recommended"
    OFF = "off"


class Kind(StrEnum):
    MEASURED = "measured"  # answered by a provider of the domain that owns the evidence
    ATTESTATION = "attestation"  # Watchkeeper cannot measure it: a named person attests


PASSING = frozenset({Status.PASS, Status.WARN})


@dataclasses.dataclass(frozen=True)
class CheckDef:
    id: str
    title: str
    kind: Kind
    # What the item asks for, shown next to it (one sentence).
    asks: str
    # Domain that answers it, and the reason shown while that domain has no provider wired.
    owner: str = "readiness"
    missing: str = ""


def _waive_hint(check: str) -> str:
    return f"meanwhile, waive it: `watchkeeper readiness waive SERVICE {check} --reason ... --expires-in 30d`"


CHECKS: dict[str, CheckDef] = {c.id: c for c in [
    # ---- PROD: the operational readiness checklist
    CheckDef("audits_complete", "All audits pass at the complete level", Kind.MEASURED,
             "Security, performance, accessibility and operations audit suites pass at level complete with no open high or critical finding.",
             owner="assessments", missing="audit suites are not wired in this installation"),
    CheckDef("monitoring_active", "Monitoring active", Kind.MEASURED,
             "At least one enabled monitor with fresh results.",
             owner="monitoring", missing="no monitors are measured yet (monitoring is not installed); " + _waive_hint("monitoring_active")),
    CheckDef("alerting_active", "Alerting proven end to end", Kind.MEASURED,
             "An alert route reaches a person, proven by a fire drill acknowledged within the last 30 days.",
             owner="alerting", missing="no alert route has been proven by an acknowledged fire drill yet (the alert pipeline is not installed); " + _waive_hint("alerting_active")),
    CheckDef("backup_restore_tested", "Backup restore tested", Kind.MEASURED,
             "A successful restore test within the last 30 days that finished within the RTO target.",
             owner="backups", missing="no backup jobs are measured yet; " + _waive_hint("backup_restore_tested")),
    CheckDef("runbook_reviewed", "Support runbook reviewed", Kind.MEASURED,
             "A support runbook reviewed within 90 days by someone other than its author.",
             owner="runbooks", missing="no runbooks are tracked yet; " + _waive_hint("runbook_reviewed")),
    CheckDef("oncall_coverage", "On-call coverage", Kind.MEASURED,
             "On-call rotation (or declared support hours) covers the next 14 days with no gap and at least two people.",
             owner="oncall", missing="no on-call schedules are tracked yet; " + _waive_hint("oncall_coverage")),
    CheckDef("refine_signoff", "Refine checkpoint signed off", Kind.MEASURED,
             "The Refine checkpoint passed with a recorded stakeholder sign-off.",
             owner="signoffs", missing="sign-offs are not wired in this installation"),
    CheckDef("rollback_drilled", "Rollback drilled", Kind.MEASURED,
             "Rollback procedure documented and a rollback drill within 90 days that took under 5 minutes.",
             owner="deploys", missing="no deployments or rollback drills are recorded yet; " + _waive_hint("rollback_drilled")),
    CheckDef("slo_achievable", "SLO defined and achievable", Kind.MEASURED,
             "An SLO target exists and the measured attainment over its window meets it.",
             owner="monitoring", missing="no SLO measurements yet (monitoring is not installed); " + _waive_hint("slo_achievable")),
    CheckDef("incident_process", "Incident process documented", Kind.MEASURED,
             "Incident response process documented and severities defined.",
             owner="incidents", missing="no incident process document or severity definitions are tracked yet; " + _waive_hint("incident_process")),
    CheckDef("dr_plan", "Disaster-recovery plan", Kind.MEASURED,
             "A disaster-recovery plan documented with RPO and RTO targets.",
             owner="backups", missing="no DR plan document is tracked yet"),
    # ---- MVP: built right enough to learn from real users
    CheckDef("real_persistence", "Real persistence", Kind.ATTESTATION,
             "Data lives in a real, durable store (no in-memory or mock persistence)."),
    CheckDef("authentication", "Authentication", Kind.ATTESTATION,
             "Users and callers must authenticate; no open admin endpoints."),
    CheckDef("happy_path_tested", "Happy path tested", Kind.ATTESTATION,
             "The main user journey is covered by automated tests that run in CI."),
    CheckDef("error_handling", "Basic error handling", Kind.ATTESTATION,
             "Errors are caught, logged and shown to users without stack traces."),
    # ---- MMP: fit to launch
    CheckDef("error_tracking", "Error tracking", Kind.ATTESTATION,
             "Application errors are collected in an error tracker someone watches."),
    CheckDef("security_review", "Security review done", Kind.MEASURED,
             "The security audit suite passes at level standard with no open high or critical finding.",
             owner="assessments", missing="audit suites are not wired in this installation"),
    CheckDef("load_test", "Load test before launch", Kind.ATTESTATION,
             "A load test at expected launch traffic was run and its report is linked."),
    CheckDef("stakeholder_signoff", "Launch signed off by stakeholders", Kind.MEASURED,
             "The launch checkpoint has a recorded stakeholder sign-off.",
             owner="signoffs", missing="sign-offs are not wired in this installation"),
]}

R, REC = Level.REQUIRED, Level.RECOMMENDED

DEFAULT_POLICIES: dict[Stage, tuple[tuple[str, Level], ...]] = {
    Stage.POC: (),
    Stage.MVP: (("real_persistence", R), ("authentication", R), ("happy_path_tested", R), ("error_handling", R)),
    Stage.MMP: (("monitoring_active", R), ("error_tracking", R), ("security_review", R), ("load_test", R),
                ("stakeholder_signoff", R)),
    Stage.PROD: (("audits_complete", R), ("monitoring_active", R), ("alerting_active", R), ("backup_restore_tested", R),
                 ("runbook_reviewed", R), ("oncall_coverage", R), ("refine_signoff", R), ("rollback_drilled", R),
                 ("slo_achievable", R), ("incident_process", R), ("dr_plan", R)),
}


@dataclasses.dataclass(frozen=True)
class PolicyItem:
    check: str
    title: str
    kind: Kind
    level: Level
    asks: str


def check_def(check_id: str, custom: Mapping[str, Any] | None = None) -> CheckDef:
    """The definition of a built-in check, or of a custom attestation item from config."""
    if check_id in CHECKS:
        return CHECKS[check_id]
    custom = custom or {}
    title = custom.get("title") or check_id.replace("_", " ").capitalize()
    return CheckDef(check_id, title, Kind.ATTESTATION, custom.get("asks") or title + " (attested).")


def resolve_policy(stage: Stage, tier: int, tuning: Mapping[str, Mapping[str, Any]] | None = None) -> list[PolicyItem]:
    """The items `stage` asks of a service of `tier`, after config tuning.

    `tuning` maps check id → {"level": ..., "tiers": {"3": ...}, "title": ..., "asks": ...} or
    just a level.
    A tier entry beats the item's level, which beats the default. Items tuned to `off` are
    dropped; custom (non built-in) ids are attestation items appended in the order given.
    """
    tuning = tuning or {}
    order = [c for c, _ in DEFAULT_POLICIES[stage]]
    defaults = dict(DEFAULT_POLICIES[stage])
    order += [c for c in tuning if c not in defaults]
    out: list[PolicyItem] = []
    for check in order:
        spec = tuning.get(check) or {}
        if isinstance(spec, str):
            spec = {"level": spec}
        level = Level(spec.get("level") or defaults.get(check, Level.REQUIRED))
        tiers = spec.get("tiers") or {}
        if str(tier) in tiers:
            level = Level(tiers[str(tier)])
        elif tier in tiers:
            level = Level(tiers[tier])
        if level is Level.OFF:
            continue
        cdef = check_def(check, spec)
        out.append(PolicyItem(check, spec.get("title") or cdef.title, cdef.kind, level, spec.get("asks") or cdef.asks))
    return out


def fallback(check: str, service: Any) -> Evidence:
    """Evidence for a check whose domain has no provider wired: unknown with what to do next,
    except where the catalog already shows a failure (no SLO or no RPO/RTO target set)."""
    targets = getattr(service, "targets", None)
    if check == "slo_achievable" and targets is not None and targets.slo is None:
        return Evidence(Status.FAIL, f"no SLO target is set for '{service.name}'; set targets.slo and targets.slo_window in watchkeeper.yaml")
    if check == "dr_plan" and targets is not None:
        missing = [n for n in ("rpo", "rto") if getattr(targets, n) is None]
        if missing:
            return Evidence(Status.FAIL, f"no {' and '.join(m.upper() for m in missing)} target is set for '{service.name}'; "
                                         "set targets.rpo and targets.rto in watchkeeper.yaml")
        return Evidence(Status.UNKNOWN, "RPO and RTO targets are set, but no DR plan document is tracked yet; "
                        + _waive_hint("dr_plan").replace("SERVICE", service.name),
                        details={"rpo_seconds": targets.rpo.total_seconds(), "rto_seconds": targets.rto.total_seconds()})
    cdef = CHECKS.get(check)
    reason = cdef.missing if cdef and cdef.missing else f"no evidence provider answers '{check}'"
    return Evidence.unknown(reason.replace("SERVICE", getattr(service, "name", "SERVICE")))


@dataclasses.dataclass(frozen=True)
class WaiverInfo:
    id: int
    granted_by: str
    reason: str
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class Outcome:
    passing: bool  # counts as passing for the gate (evidence passes or an active waiver covers it)
    blocking: bool  # required and not passing
    waived: bool  # passing only because of a waiver
    word: str  # what the UI and CLI show: pass, warn, fail, unknown, waived


def outcome(level: Level, status: Status, waiver: WaiverInfo | None, now: dt.datetime) -> Outcome:
    """Combine an item's level, its evidence status and its waiver (if any) at `now`.

    Pass and warn pass. A waiver covers fail and unknown until it expires; an expired waiver
    covers nothing, so the item fails again by itself.
    """
    if status in PASSING:
        return Outcome(True, False, False, status.value)
    if waiver is not None and waiver.expires_at > now:
        return Outcome(True, False, True, "waived")
    return Outcome(False, level is Level.REQUIRED, False, status.value)


def summary_word(items_blocking: int, items_failing_recommended: int) -> str:
    if items_blocking:
        return "not ready"
    return "ready with warnings" if items_failing_recommended else "ready"
