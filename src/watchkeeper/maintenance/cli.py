"""`watchkeeper maintenance add|list|cancel`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import typer

from watchkeeper import clock
from watchkeeper.cli.common import emit, local_actor, session_scope, validated
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate
from watchkeeper.validation import zone

maintenance_app = typer.Typer(help="Maintenance windows: alerts inside them are recorded but not sent.", no_args_is_help=True)


@maintenance_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Unique name, e.g. db-upgrade.")],
    duration: Annotated[str, typer.Option(help="Length of each occurrence, e.g. 2h.")],
    service: Annotated[Optional[str], typer.Option(help="Service whose alerts it covers.")] = None,
    start: Annotated[Optional[dt.datetime], typer.Option(help="First start (ISO; read in --timezone); default now.")] = None,
    rrule: Annotated[Optional[str], typer.Option(help="Recurrence, RFC 5545, e.g. FREQ=WEEKLY;BYDAY=SU.")] = None,
    cron: Annotated[Optional[str], typer.Option(help="Recurrence as cron, e.g. '0 2 * * 0'.")] = None,
    timezone: Annotated[str, typer.Option(help="Zone for --start, --rrule and --cron.")] = "UTC",
    until: Annotated[Optional[dt.datetime], typer.Option(help="No occurrence starts after this (ISO, UTC).")] = None,
    matcher: Annotated[Optional[list[str]], typer.Option("--matcher", "-m", help="Extra label matcher, repeatable.")] = None,
    comment: Annotated[Optional[str], typer.Option(help="Why; shown in the UI and on suppressed alerts.")] = None,
) -> None:
    """Schedule a one-off or recurring maintenance window."""
    starts = start or clock.utcnow()
    if starts.tzinfo is None:
        starts = starts.replace(tzinfo=zone(timezone))
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=dt.timezone.utc)
    data = validated(WindowCreate, dict(name=name, service=service, starts_at=starts, duration=duration, rrule=rrule,
                                        cron=cron, timezone=timezone, until=until, matchers=matcher or [], comment=comment))
    with session_scope(ctx) as session:
        row = maintenance.create_window(session, data=data, actor=local_actor())
    emit(ctx, row.model_dump())


@maintenance_app.command("list")
def list_windows(ctx: typer.Context, service: Annotated[Optional[str], typer.Option(help="Only this service.")] = None,
                 past: Annotated[bool, typer.Option("--past", help="Include past and cancelled windows.")] = False) -> None:
    """List current and upcoming windows with their next occurrence."""
    with session_scope(ctx) as session:
        rows = maintenance.list_windows(session, actor=local_actor(), service=service, include_past=past)
    emit(ctx, [r.model_dump() for r in rows], columns=["name", "service", "active_now", "next_start", "next_end", "rrule", "cron", "comment"])


@maintenance_app.command("cancel")
def cancel(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Window name.")]) -> None:
    """Cancel a window (kept for history)."""
    with session_scope(ctx) as session:
        row = maintenance.cancel_window(session, name=name, actor=local_actor())
    emit(ctx, row.model_dump())
