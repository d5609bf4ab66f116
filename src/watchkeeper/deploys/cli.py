"""`watchkeeper deploy start|finish|check|list|show|override|approve|overrides|freezes`."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper.cli.common import emit, local_actor, session_scope, validated
from watchkeeper.deploys import calendar, freezes, gate, rollout
from watchkeeper.deploys import releasenotes as notes
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.calendar import PlannedDeploy
from watchkeeper.deploys.schemas import (
    DeployFinish,
    DeployStart,
    GateRequest,
    OverrideCreate,
)

deploy_app = typer.Typer(help="Deploys: records from CI, the deploy gate, overrides, freezes (docs/deploys.md).", no_args_is_help=True)

COLUMNS = ["id", "service", "environment", "version", "status", "tests_status", "rollback_version", "gate", "started_at", "finished_at"]

Service = Annotated[str, typer.Argument(help="Catalog service name.")]
VersionOpt = Annotated[str, typer.Option("--version", help="The version being deployed, e.g. 1.4.2.")]
StageOpt = Annotated[str | None, typer.Option("--stage", help="POC, MVP, MMP or PROD (default: the service's current stage).")]
EnvOpt = Annotated[str, typer.Option("--environment", "-e", help="Where it goes, e.g. production, staging.")]
TestsUrl = Annotated[str | None, typer.Option("--tests-url", help="The CI run's http(s) URL (test evidence).")]
TestsStatus = Annotated[str | None, typer.Option("--tests-status", help="passed or failed.")]
Passed = Annotated[int, typer.Option("--tests-passed", help="Number of tests passed.")]
Failed = Annotated[int, typer.Option("--tests-failed", help="Number of tests failed.")]
Skipped = Annotated[int, typer.Option("--tests-skipped", help="Number of tests skipped.")]
RbVersion = Annotated[str | None, typer.Option("--rollback-version", help="Version to return to (default: the previous good deploy).")]
RbHow = Annotated[str | None, typer.Option("--rollback-how", help="How to return to it (default: the rollback hook).")]


def _evidence(url: str | None, status: str | None, passed: int, failed: int, skipped: int) -> dict | None:
    if url is None and status is None:
        return None
    return {"url": url or "", "status": status or "passed", "passed": passed, "failed": failed, "skipped": skipped}


def _rollback(version: str | None, how: str | None) -> dict | None:
    if version is None and how is None:
        return None
    return {"version": version or "", "how": how}


@deploy_app.command("start")
def start(ctx: typer.Context, service: Service, version: VersionOpt, environment: EnvOpt = "production", stage: StageOpt = None,
          commit: Annotated[str | None, typer.Option("--commit", help="Git commit (hex).")] = None,
          artifact: Annotated[str | None, typer.Option("--artifact", help="Image or package reference.")] = None,
          triggered_by: Annotated[str | None, typer.Option("--triggered-by", help="Person or pipeline (default: you).")] = None,
          tests_url: TestsUrl = None, tests_status: TestsStatus = None, tests_passed: Passed = 0, tests_failed: Failed = 0,
          tests_skipped: Skipped = 0, rollback_version: RbVersion = None, rollback_how: RbHow = None) -> None:
    """Record a deploy starting; prints its id (pass it to `deploy finish`). Without test evidence it is recorded as untested."""
    data = validated(DeployStart, {
        "service": service, "version": version, "environment": environment, "stage": stage, "commit": commit, "artifact": artifact,
        "triggered_by": triggered_by, "tests": _evidence(tests_url, tests_status, tests_passed, tests_failed, tests_skipped),
        "rollback": _rollback(rollback_version, rollback_how)})
    with session_scope(ctx) as session:
        row = deploys.start_deploy(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("finish")
def finish(ctx: typer.Context, deploy_id: Annotated[int, typer.Argument(help="The id `deploy start` printed.")],
           outcome: Annotated[str, typer.Option("--outcome", help="succeeded, failed, rolled_back or aborted.")],
           reason: Annotated[str | None, typer.Option("--reason", help="Why it failed or was rolled back.")] = None) -> None:
    """Record a deploy's outcome."""
    data = validated(DeployFinish, {"outcome": outcome, "reason": reason})
    with session_scope(ctx) as session:
        row = deploys.finish_deploy(session, deploy_id=deploy_id, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("check")
def check(ctx: typer.Context, service: Service, version: VersionOpt, stage: StageOpt = None, environment: EnvOpt = "production",
          tests_url: TestsUrl = None, tests_status: TestsStatus = None, tests_passed: Passed = 0, tests_failed: Failed = 0,
          tests_skipped: Skipped = 0, rollback_version: RbVersion = None, rollback_how: RbHow = None) -> None:
    """The deploy gate, for CI. Exit 0 allowed, 3 refused (one reason per rule), 4 refused while an
    override awaits its second person, 2 bad input, 1 any other error."""
    data = validated(GateRequest, {
        "service": service, "version": version, "stage": stage, "environment": environment,
        "tests": _evidence(tests_url, tests_status, tests_passed, tests_failed, tests_skipped),
        "rollback": _rollback(rollback_version, rollback_how)})
    with session_scope(ctx) as session:
        result = gate.check(session, data=data, actor=local_actor())
    emit(ctx, result.model_dump())
    if not result.allowed:
        for r in result.reasons:
            typer.echo(f"refused [{r.rule}]: {r.reason}", err=True)
    raise typer.Exit(result.exit_code)


@deploy_app.command("list")
def list_(ctx: typer.Context, service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
          environment: Annotated[str | None, typer.Option("--environment", help="Only this environment.")] = None,
          status: Annotated[str | None, typer.Option("--status", help="in_progress, succeeded, failed, rolled_back, aborted.")] = None,
          limit: Annotated[int, typer.Option(help="How many, newest first (1-1000).")] = 50) -> None:
    """Deploys, newest first."""
    with session_scope(ctx) as session:
        rows = deploys.list_deploys(session, actor=local_actor(), service=service, environment=environment, status=status, limit=limit)
    emit(ctx, [r.model_dump() for r in rows], columns=COLUMNS)


@deploy_app.command("show")
def show(ctx: typer.Context, deploy_id: Annotated[int, typer.Argument(help="Deploy id.")]) -> None:
    """One deploy with its test evidence, rollback target and gate verdict."""
    with session_scope(ctx) as session:
        row = deploys.get_deploy(session, deploy_id=deploy_id, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("override")
def override(ctx: typer.Context, service: Service, version: VersionOpt,
             reason: Annotated[str, typer.Option("--reason", help="Why deploying past the gate is right this time (required).")],
             stage: StageOpt = None,
             expires_in: Annotated[str, typer.Option("--expires-in", help="How long it stays usable, e.g. 2h (at most 7d).")] = "4h") -> None:
    """Ask to deploy past the gate. PROD overrides need `deploy approve ID` by a second person."""
    data = validated(OverrideCreate, {"service": service, "version": version, "stage": stage, "reason": reason, "expires_in": expires_in})
    with session_scope(ctx) as session:
        row = gate.request_override(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("approve")
def approve(ctx: typer.Context, override_id: Annotated[int, typer.Argument(help="The override's id.")]) -> None:
    """Approve a PROD override as the second person (not its requester)."""
    with session_scope(ctx) as session:
        row = gate.approve_override(session, override_id=override_id, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("overrides")
def overrides(ctx: typer.Context, service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None) -> None:
    """Gate overrides, newest first, and whether each is active."""
    with session_scope(ctx) as session:
        rows = gate.list_overrides(session, actor=local_actor(), service=service)
    emit(ctx, [r.model_dump() for r in rows],
         columns=["id", "service", "version", "stage", "requested_by", "approved_by", "active", "expires_at", "used_at", "reason"])


@deploy_app.command("freezes")
def list_freezes(ctx: typer.Context, service: Annotated[str | None, typer.Option("--service", help="Only those applying to this service.")] = None) -> None:
    """Change freezes and change windows: whether each is in force now, and when it next starts."""
    with session_scope(ctx) as session:
        rows = freezes.list_freezes(session, actor=local_actor(), service=service)
    emit(ctx, [r.model_dump() for r in rows],
         columns=["name", "kind", "service", "team", "cron", "timezone", "duration_seconds", "active_now", "current_end", "next_start"])


# ---------------------------------------------------------------------------- rollouts, rollbacks, drills

ROLLBACK_COLUMNS = ["id", "service", "kind", "trigger", "status", "from_version", "to_version", "time_to_healthy_seconds",
                    "target_seconds", "finished_at", "reason"]


@deploy_app.command("rollout")
def start_rollout(ctx: typer.Context, service: Service, version: VersionOpt, environment: EnvOpt = "production",
                  commit: Annotated[str | None, typer.Option("--commit", help="Git commit (hex).")] = None,
                  tests_url: TestsUrl = None, tests_status: TestsStatus = None, tests_passed: Passed = 0, tests_failed: Failed = 0,
                  tests_skipped: Skipped = 0) -> None:
    """Record a deploy and start its gradual rollout by the service's plan; the worker runs the steps."""
    data = validated(DeployStart, {"service": service, "version": version, "environment": environment, "commit": commit,
                                   "tests": _evidence(tests_url, tests_status, tests_passed, tests_failed, tests_skipped)})
    with session_scope(ctx) as session:
        row = rollout.start_rollout(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("steps")
def show_steps(ctx: typer.Context, deploy_id: Annotated[int, typer.Argument(help="Deploy id.")]) -> None:
    """A rollout's steps: weight, status, how often the traffic hook ran, the analysis."""
    with session_scope(ctx) as session:
        rows = rollout.steps(session, deploy_id=deploy_id, actor=local_actor())
    emit(ctx, rows, columns=["idx", "weight", "status", "hook_runs", "hook_at", "finished_at", "reason"])


@deploy_app.command("approve-step")
def approve_step(ctx: typer.Context, deploy_id: Annotated[int, typer.Argument(help="Deploy id.")]) -> None:
    """Let a rollout that waits for approval go on to its next step."""
    with session_scope(ctx) as session:
        row = rollout.approve_step(session, deploy_id=deploy_id, actor=local_actor())
    emit(ctx, row.model_dump())


@deploy_app.command("abort")
def abort(ctx: typer.Context, deploy_id: Annotated[int, typer.Argument(help="Deploy id.")],
          reason: Annotated[str, typer.Option("--reason", help="Why (required).")]) -> None:
    """Stop a rollout and roll it back (traffic to 0 %, then the rollback hook), timed to healthy."""
    with session_scope(ctx) as session:
        row = rollout.abort_rollout(session, deploy_id=deploy_id, reason=reason, actor=local_actor())
    emit(ctx, row.model_dump())


def _run_now(ctx: typer.Context, row, now: bool) -> None:
    if now:
        from watchkeeper.cli.common import state

        container = state(ctx).container()
        row = rollbacks.execute(container.session_factory, rollback_id=row.id, settings=container.settings)
    emit(ctx, row.model_dump())
    if row.status == "failed":
        typer.echo(f"error: {row.kind} {row.id} of '{row.service}' failed: {row.reason}", err=True)
        raise typer.Exit(1)


NowOpt = Annotated[bool, typer.Option("--now", help="Run it in this process and wait, instead of queuing it for a worker.")]


@deploy_app.command("rollback")
def rollback(ctx: typer.Context, service: Service, environment: EnvOpt = "production",
             to: Annotated[str | None, typer.Option("--to", help="Version to return to (default: the rollback target).")] = None,
             now: NowOpt = False) -> None:
    """Roll the service back with its rollback hook and time it until healthy. Exit 1 when it fails."""
    with session_scope(ctx) as session:
        row = rollbacks.request_rollback(session, service=service, environment=environment, to_version=to, actor=local_actor())
    _run_now(ctx, row, now)


@deploy_app.command("drill")
def drill(ctx: typer.Context, service: Service, environment: EnvOpt = "production", now: NowOpt = False) -> None:
    """Rollback drill: back to the previous version, then forward again; each leg timed against the target."""
    with session_scope(ctx) as session:
        row = rollbacks.request_drill(session, service=service, environment=environment, actor=local_actor())
    _run_now(ctx, row, now)


@deploy_app.command("rollbacks")
def list_rollbacks(ctx: typer.Context, service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
                   limit: Annotated[int, typer.Option(help="How many, newest first (1-1000).")] = 20) -> None:
    """Rollbacks and drills with their measured time-to-healthy."""
    with session_scope(ctx) as session:
        rows = rollbacks.list_rollbacks(session, actor=local_actor(), service=service, limit=limit)
    emit(ctx, [r.model_dump() for r in rows], columns=ROLLBACK_COLUMNS)


# ---------------------------------------------------------------------------- the change calendar


@deploy_app.command("plan")
def plan(ctx: typer.Context, service: Service, version: VersionOpt,
         at: Annotated[str, typer.Option("--at", help="When, with a zone, e.g. 2026-12-10T14:00:00Z.")],
         environment: EnvOpt = "production",
         note: Annotated[str | None, typer.Option("--note", help="What it is for.")] = None) -> None:
    """Put a planned deploy on the change calendar (a freeze or a missing window is flagged as a conflict)."""
    data = validated(PlannedDeploy, {"service": service, "version": version, "environment": environment, "at": at, "note": note})
    with session_scope(ctx) as session:
        row = calendar.plan_deploy(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


def _when(value: str | None, option: str):
    if value is None:
        return None
    import datetime as dt

    from watchkeeper.errors import InvalidInput

    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value[:40]!r} is not a time like 2026-12-07T00:00Z", field=option) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{option} needs a zone offset or Z, e.g. 2026-12-07T00:00Z", field=option)
    return parsed


@deploy_app.command("calendar")
def show_calendar(ctx: typer.Context,
                  start: Annotated[str | None, typer.Option("--start", help="From (default: a week ago).")] = None,
                  end: Annotated[str | None, typer.Option("--end", help="To (default: five weeks after the start; at most 92 days).")] = None,
                  service: Annotated[str | None, typer.Option("--service", help="Only what applies to this service.")] = None,
                  ics: Annotated[str | None, typer.Option("--ics", help="Write an iCalendar file here instead.")] = None) -> None:
    """The change calendar: deploys, freezes, windows, maintenance, on-call hand-offs, drills — conflicts first."""
    with session_scope(ctx) as session:
        cal = calendar.change_calendar(session, actor=local_actor(), start=_when(start, "--start"), end=_when(end, "--end"),
                                       service=service)
    if ics:
        from pathlib import Path

        Path(ics).write_bytes(calendar.ical(cal))
        emit(ctx, {"file": ics, "entries": len(cal.entries), "conflicts": len(cal.conflicts)})
        return
    for c in cal.conflicts:
        typer.echo(f"conflict [{c.kind}]: {c.message}", err=True)
    emit(ctx, [e.model_dump() for e in cal.entries], columns=["start", "end", "kind", "title", "service", "team"])


def releasenotes(ctx: typer.Context, service: Service,
                 from_version: Annotated[str, typer.Option("--from", help="The earlier deployed version.")],
                 to_version: Annotated[str, typer.Option("--to", help="The later deployed version.")],
                 repo: Annotated[str | None, typer.Option("--repo", help="A git clone (default: the policy's repository).")] = None) -> None:
    """Release notes (Markdown) from the git history between two deploy records: Conventional Commits grouped,
    breaking changes first, incident and action-item references, deploys in between that failed or were rolled back."""
    with session_scope(ctx) as session:
        text = notes.release_notes(session, service=service, from_version=from_version, to_version=to_version,
                                   actor=local_actor(), repository=repo)
    typer.echo(text, nl=False)
