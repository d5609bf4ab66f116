"""`watchkeeper audit` — verify, export, checkpoint and browse the audit log."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from watchkeeper.audit.signing import Signer, Verifier
from watchkeeper.cli.common import emit, local_actor, session_scope, state
from watchkeeper.errors import InvalidInput

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _date(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--since {value!r} is not a date; write 2025-01-31 or 2025-01-31T12:00", field="since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    public_key: Annotated[Optional[list[Path]], typer.Option(
        "--public-key", help="A trusted Ed25519 public key (PEM), e.g. your copy of `audit public-key`'s output or a "
                             "rotated-out key; repeatable. Needed when this machine has no signing key.")] = None,
    anchor_file: Annotated[Optional[Path], typer.Option(
        help="Check the chain against this file of anchored checkpoints (default: the configured audit_anchor_file).")] = None,
) -> None:
    """Recompute the hash chain; check the signed head, the signed checkpoints and the external
    anchors; exit 1 naming the first thing that does not hold. See docs/security.md."""
    settings = state(ctx).settings()
    key = settings.audit_key_path()
    signer = Signer.load_or_create(key) if key.exists() else None
    keys = Verifier.from_pem_files(public_key) if public_key else None
    anchors = anchor_file or settings.audit_anchor_file
    if anchors is not None and not anchors.exists() and anchor_file is None:
        anchors = None  # configured but nothing anchored yet
    with session_scope(ctx) as session:
        report = audit.verify(session, actor=local_actor(), signer=signer, keys=keys, anchor_file=anchors)
    if state(ctx).json:
        emit(ctx, report.model_dump())
    elif report.ok:
        typer.echo(f"ok: {report.events_checked} events, {report.checkpoints_checked} signed checkpoints and "
                   f"{report.anchors_checked} anchors verified; signatures vouch through event {report.signed_through}")
    if not report.ok:
        where = f" at event {report.first_bad_seq}" if report.first_bad_seq else ""
        typer.echo(f"error: audit chain broken{where}: {report.reason}", err=True)
        raise typer.Exit(1)


@audit_app.command("public-key")
def public_key(ctx: typer.Context) -> None:
    """Print the public half of the audit signing key (PEM). Keep a copy outside this machine:
    `audit verify --public-key FILE` checks the log with it even if the key is lost or replaced."""
    settings = state(ctx).settings()
    key = settings.audit_key_path()
    if not key.exists():
        raise InvalidInput(f"there is no audit signing key at {key} yet; it is created by the first audit event "
                           "or by `watchkeeper audit checkpoint`", field="audit_key_file")
    typer.echo(Signer.load_or_create(key).public_pem(), nl=False)


@audit_app.command("export")
def export(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option(help="Only events at or after this date (ISO 8601, UTC).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: standard output).")] = None,
) -> None:
    """Write events as JSON lines, oldest first, with their hashes."""
    start = _date(since)
    with session_scope(ctx) as session:
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        count = 0
        try:
            for line in audit.export(session, actor=local_actor(), since=start):
                out.write(line + "\n")
                count += 1
        finally:
            if output:
                out.close()
    if output:
        typer.echo(f"wrote {count} events to {output}", err=True)


@audit_app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the current chain head now with the Ed25519 key (created on first use)."""
    settings = state(ctx).settings()
    with session_scope(ctx) as session:
        cp = audit.checkpoint(session, signer=Signer.load_or_create(settings.audit_key_path()), actor=local_actor(),
                              anchor_file=settings.audit_anchor_file, anchor_url=settings.audit_anchor_url)
        if cp is not None:
            audit.record(session, actor=local_actor(), action="audit.checkpoint", target=f"audit:{cp.seq}")
    emit(ctx, {"checkpoint_seq": cp.seq if cp else None, "key": str(settings.audit_key_path())})


@audit_app.command("log")
def log(
    ctx: typer.Context,
    actor: Annotated[Optional[str], typer.Option(help="Only this actor.")] = None,
    action: Annotated[Optional[str], typer.Option(help="Action prefix, e.g. service.")] = None,
    target: Annotated[Optional[str], typer.Option(help="Target substring, e.g. service:payments.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """Show recent audit events."""
    with session_scope(ctx) as session:
        rows = audit.list_events(session, filter=AuditFilter(actor=actor, action=action, target=target, limit=limit),
                                 actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["seq", "at", "actor", "source", "action", "target"])
