"""`watchkeeper service|team|promote` — thin wrappers over the catalog service."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from watchkeeper.catalog import service as catalog

from watchkeeper.catalog import teams
from watchkeeper.catalog.stages import Stage
from watchkeeper.catalog.schemas import ServiceFilter
from watchkeeper.cli.common import emit, local_actor, session_scope

service_app = typer.Typer(help="The service catalog: list, show, demote, delete.", no_args_is_help=True)
team_app = typer.Typer(help="Teams and their members.", no_args_is_help=True)

LIST_COLUMNS = ["name", "stage", "tier", "team", "depends_on", "managed_by"]


@service_app.command("list")
def list_services(
    ctx: typer.Context,
    team: Annotated[Optional[str], typer.Option(help="Only this team's services.")] = None,
    stage: Annotated[Optional[Stage], typer.Option(help="Only services at this stage.")] = None,
) -> None:
    """List services with stage, tier, team and dependencies."""
    with session_scope(ctx) as session:
        rows = catalog.list_services(session, actor=local_actor(), filter=ServiceFilter(team=team, stage=stage))
    emit(ctx, [r.model_dump() for r in rows], columns=LIST_COLUMNS)


@service_app.command("show")
def show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Service name.")]) -> None:
    """Show one service: targets, links, dependencies and stage history."""
    with session_scope(ctx) as session:
        svc = catalog.get_service(session, name=name, actor=local_actor())
        history = catalog.stage_history(session, name=name, actor=local_actor())
    data = svc.model_dump()
    data["stage_history"] = [f"{h.at:%Y-%m-%d %H:%M} {h.from_stage}→{h.to_stage} by {h.actor}" for h in history]
    emit(ctx, data)


@service_app.command("demote")
def demote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Service name.")],
    to: Annotated[Stage, typer.Option("--to", help="A lower stage.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded in the audit log.")],
) -> None:
    """Move a service back to a lower stage (a reason is required)."""
    with session_scope(ctx) as session:
        svc = catalog.demote(session, name=name, to=to, reason=reason, actor=local_actor())
    emit(ctx, {"service": svc.name, "stage": svc.stage})


@service_app.command("delete")
def delete(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Service name.")]) -> None:
    """Delete a service (refused while others depend on it)."""
    with session_scope(ctx) as session:
        catalog.delete_service(session, name=name, actor=local_actor())
    emit(ctx, {"deleted": name})


def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Service name.")],
    to: Annotated[Stage, typer.Option("--to", help="The next stage: MVP, MMP or PROD.")],
    force: Annotated[bool, typer.Option("--force", help="Override a failing gate (admin only; needs --reason).")] = False,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why the gate is overridden.")] = None,
) -> None:
    """Promote a service one stage up. Skips are refused with their risks named."""
    with session_scope(ctx) as session:
        svc = catalog.promote(session, name=name, to=to, actor=local_actor(), force=force, reason=reason)
    emit(ctx, {"service": svc.name, "stage": svc.stage, "forced": svc.forced})


@team_app.command("list")
def list_teams(ctx: typer.Context) -> None:
    """List teams and members."""
    with session_scope(ctx) as session:
        rows = teams.list_teams(session, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["name", "display_name", "members", "managed_by"])
