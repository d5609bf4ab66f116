"""`watchkeeper readiness SERVICE` and the readiness gate's other verbs (waive, attest, ...)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import typer

from watchkeeper import durations
from watchkeeper.catalog.stages import Stage
from watchkeeper.cli.common import default_group, emit, local_actor, session_scope, state, validated
from watchkeeper.errors import InvalidInput
from watchkeeper.readiness import continuous, evaluation, policies, waivers
from watchkeeper.readiness.schemas import AttestationCreate, ReadinessReport, WaiverCreate

readiness_app = typer.Typer(
    cls=default_group("check"), no_args_is_help=True,
    help="The readiness gate. `watchkeeper readiness SERVICE [--stage STAGE] [--json]` evaluates a service's "
         "checklist and exits 0 only when every required item passes (use it in CI); the other commands "
         "manage waivers, attestations, the scorecard and history.",
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


def _json(ctx: typer.Context, flag: bool) -> None:
    if flag:
        state(ctx).json = True


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return durations.format(dt.timedelta(seconds=max(int(seconds), 0))) or "0s"


def _expiry(expires_in: str | None, expires_at: str | None) -> dict:
    if expires_at:
        try:
            at = dt.datetime.fromisoformat(expires_at)
        except ValueError:
            raise InvalidInput(f"--expires-at {expires_at!r} is not a date; write 2026-06-30 or 2026-06-30T12:00",
                               field="expires_at") from None
        return {"expires_at": at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)}
    if expires_in:
        return {"expires_in": expires_in}
    raise InvalidInput("say when it ends: --expires-in 30d or --expires-at 2026-06-30", field="expires_in")


def print_report(ctx: typer.Context, report: ReadinessReport) -> None:
    if state(ctx).json:
        emit(ctx, report.model_dump(mode="json"))
        return
    rows = []
    for item in report.items:
        reason = item.reason
        if item.waiver is not None:
            reason = f"WAIVED by {item.waiver.granted_by} until {item.waiver.expires_at:%Y-%m-%d} ({item.waiver.reason}); evidence: {reason}"
        rows.append({"item": item.check, "level": item.level.value, "status": item.word.upper(),
                     "age": _age(item.age_seconds), "reason": reason, "link": item.link})
    typer.echo(f"{report.service} · {report.stage.value} checklist · tier {report.tier} · "
               f"service at {report.current_stage.value}{' (forced)' if report.forced else ''}")
    if not rows:
        nxt = next((s for s in Stage if s.rank == report.stage.rank + 1), None)
        typer.echo(f"{report.stage.value} asks for nothing" + (f"; see the next stage with --stage {nxt.value}" if nxt else ""))
        return
    emit(ctx, rows, columns=["item", "level", "status", "age", "reason", "link"])
    typer.echo(f"{report.word.upper()}: " + ", ".join(f"{n} {w}" for w, n in sorted(report.counts.items())))


@readiness_app.command("check")
def check(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    stage: Annotated[Optional[Stage], typer.Option(help="Stage whose checklist to evaluate (default: the service's stage).")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Evaluate SERVICE's checklist now: each item's status, reason, evidence age and link.
    Exits 0 only when every required item passes (or is waived), 1 otherwise."""
    _json(ctx, json_output)
    with session_scope(ctx) as session:
        report = evaluation.get_report(session, service=service, stage=stage, actor=local_actor())
    print_report(ctx, report)
    if not report.ready:
        failing = [i.check for i in report.items if i.blocking]
        typer.echo(f"error: '{service}' is not ready for {report.stage.value}: {len(failing)} required item(s) fail: "
                   f"{', '.join(failing)}", err=True)
        raise typer.Exit(1)


@readiness_app.command("scorecard")
def scorecard(
    ctx: typer.Context,
    stage: Annotated[Stage, typer.Option(help="Stage whose checklist makes the columns.")] = Stage.PROD,
    team: Annotated[Optional[str], typer.Option(help="Only this team's services.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Services × items of a stage's checklist, one word per cell."""
    _json(ctx, json_output)
    with session_scope(ctx) as session:
        card = evaluation.scorecard(session, stage=stage, team=team, actor=local_actor())
    if state(ctx).json:
        emit(ctx, card.model_dump(mode="json"))
        return
    rows = [{"service": r.service, "stage": r.stage.value, "ready": r.word,
             **{c.check: r.cells[c.check].word if c.check in r.cells else "-" for c in card.columns}} for r in card.rows]
    emit(ctx, rows, columns=["service", "stage", "ready", *[c.check for c in card.columns]])


@readiness_app.command("waive")
def waive(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    check_id: Annotated[str, typer.Argument(metavar="CHECK", help="Check id, e.g. backup_restore_tested.")],
    reason: Annotated[str, typer.Option(help="Why the item may be skipped for now, and the plan (10+ characters).")],
    expires_in: Annotated[Optional[str], typer.Option(help="How long the waiver lasts, e.g. 30d (at most a year).")] = None,
    expires_at: Annotated[Optional[str], typer.Option(help="Or the date it ends, e.g. 2026-06-30 (UTC).")] = None,
) -> None:
    """Waive a readiness item until a date; after it the item fails again by itself."""
    data = validated(WaiverCreate, {"check": check_id, "reason": reason, **_expiry(expires_in, expires_at)})
    with session_scope(ctx) as session:
        waiver = waivers.grant_waiver(session, service=service, data=data, actor=local_actor())
    emit(ctx, waiver.model_dump())


@readiness_app.command("unwaive")
def unwaive(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    waiver_id: Annotated[int, typer.Argument(help="Waiver id (see `readiness waivers SERVICE`).")],
    reason: Annotated[str, typer.Option(help="Why the waiver ends now.")],
) -> None:
    """End a waiver now."""
    with session_scope(ctx) as session:
        waiver = waivers.revoke_waiver(session, service=service, waiver_id=waiver_id, reason=reason, actor=local_actor())
    emit(ctx, waiver.model_dump())


@readiness_app.command("waivers")
def list_waivers(
    ctx: typer.Context,
    service: Annotated[Optional[str], typer.Argument(help="Service name (default: every service).")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only waivers in force now.")] = False,
) -> None:
    """List waivers with who granted them, why and until when."""
    with session_scope(ctx) as session:
        rows = waivers.list_waivers(session, service=service, active_only=active, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows],
         columns=["id", "service", "check", "active", "expires_at", "granted_by", "reason", "managed_by"])


@readiness_app.command("attest")
def attest(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    check_id: Annotated[str, typer.Argument(metavar="CHECK", help="Attestation item, e.g. happy_path_tested.")],
    by: Annotated[str, typer.Option(help="Handle of the person who attests (from the catalog).")],
    link: Annotated[str, typer.Option(help="Where the proof is: a test report, document or ticket URL.")],
    expires_in: Annotated[Optional[str], typer.Option(help="How long it holds, e.g. 90d (at most a year).")] = None,
    expires_at: Annotated[Optional[str], typer.Option(help="Or the date it must be renewed (UTC).")] = None,
    note: Annotated[Optional[str], typer.Option(help="Anything the reader should know.")] = None,
) -> None:
    """Record that a named person vouches for an item Watchkeeper cannot measure."""
    data = validated(AttestationCreate, {"check": check_id, "by": by, "link": link, "note": note,
                                          **_expiry(expires_in, expires_at)})
    with session_scope(ctx) as session:
        row = waivers.attest(session, service=service, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@readiness_app.command("unattest")
def unattest(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    attestation_id: Annotated[int, typer.Argument(help="Attestation id (see `readiness attestations SERVICE`).")],
    reason: Annotated[str, typer.Option(help="Why the attestation no longer holds.")],
) -> None:
    """Withdraw an attestation."""
    with session_scope(ctx) as session:
        row = waivers.revoke_attestation(session, service=service, attestation_id=attestation_id, reason=reason,
                                           actor=local_actor())
    emit(ctx, row.model_dump())


@readiness_app.command("attestations")
def attestations(
    ctx: typer.Context,
    service: Annotated[Optional[str], typer.Argument(help="Service name (default: every service).")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only attestations in force now.")] = False,
) -> None:
    """List attestations with who attested, the link and the expiry."""
    with session_scope(ctx) as session:
        rows = waivers.list_attestations(session, service=service, active_only=active, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows],
         columns=["id", "service", "check", "active", "attested_by", "expires_at", "link", "managed_by"])


@readiness_app.command("history")
def history(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    check_id: Annotated[Optional[str], typer.Option("--check", help="Only this item.")] = None,
    limit: Annotated[int, typer.Option(help="How many changes, newest first.")] = 50,
) -> None:
    """Show when each item of SERVICE changed status, newest first."""
    with session_scope(ctx) as session:
        rows = continuous.history(session, service=service, check=check_id, limit=limit, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["at", "check", "word", "reason"])


@readiness_app.command("refresh")
def refresh(
    ctx: typer.Context,
    services: Annotated[Optional[list[str]], typer.Argument(help="Service names (default: every service).")] = None,
) -> None:
    """Re-evaluate now and record changes, regressions and cleared force marks (the worker
    does this every 5 minutes)."""
    settings = state(ctx).settings()
    with session_scope(ctx) as session:
        summary = continuous.refresh(session, actor=local_actor(), services=services or None, base_url=settings.public_url)
    emit(ctx, summary.model_dump())


@readiness_app.command("policy")
def policy(
    ctx: typer.Context,
    stage: Annotated[Stage, typer.Argument(help="Stage: POC, MVP, MMP or PROD.")],
    tier: Annotated[int, typer.Option(min=1, max=3, help="Tier the checklist is for.")] = 3,
) -> None:
    """Show what a stage asks of a service of a tier, after config tuning."""
    with session_scope(ctx) as session:
        result = policies.policy(session, stage=stage, actor=local_actor(), tier=tier)
    emit(ctx, [i.model_dump() for i in result.items], columns=["check", "level", "kind", "title", "asks"])
