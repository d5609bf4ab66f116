"""`watchkeeper signoff SERVICE --checkpoint refine --role ROLE --note TEXT`, list, revoke, roles."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from watchkeeper.cli.common import default_group, emit, local_actor, session_scope, validated
from watchkeeper.signoffs import service as signoffs
from watchkeeper.signoffs.schemas import SignoffCreate

signoff_app = typer.Typer(
    cls=default_group("create"), no_args_is_help=True,
    help="Stakeholder sign-offs of checkpoints (refine, launch). `watchkeeper signoff SERVICE --checkpoint refine "
         "--role ROLE --note TEXT` records one; roles come from readiness.stakeholder_roles in watchkeeper.yaml.",
)


@signoff_app.command("create")
def create(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    checkpoint: Annotated[str, typer.Option(help="Checkpoint signed: refine (before PROD) or launch (MMP).")],
    role: Annotated[str, typer.Option(help="Stakeholder role you sign as (see `signoff roles`).")],
    note: Annotated[str, typer.Option(help="What was reviewed and decided.")],
    by: Annotated[Optional[str], typer.Option(help="Who signs (default: your login name).")] = None,
) -> None:
    """Record a stakeholder sign-off of a checkpoint."""
    with session_scope(ctx) as session:
        row = signoffs.sign_off(session, service=service,
                                data=validated(SignoffCreate, {"checkpoint": checkpoint, "role": role, "note": note, "signer": by}), actor=local_actor())
    emit(ctx, row.model_dump())


@signoff_app.command("list")
def list_signoffs(ctx: typer.Context, service: Annotated[str, typer.Argument(help="Service name.")]) -> None:
    """Sign-offs of SERVICE with who, when, and whether revoked."""
    with session_scope(ctx) as session:
        rows = signoffs.list_signoffs(session, service=service, actor=local_actor())
    emit(ctx, [r.model_dump() | {"active": r.active} for r in rows],
         columns=["id", "checkpoint", "role", "signer", "signed_at", "active", "note", "revoked_by"])


@signoff_app.command("revoke")
def revoke(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    signoff_id: Annotated[int, typer.Argument(help="Sign-off id (see `signoff list SERVICE`).")],
    reason: Annotated[str, typer.Option(help="Why the sign-off no longer holds.")],
) -> None:
    """Revoke a sign-off; it stays on record and no longer counts."""
    with session_scope(ctx) as session:
        row = signoffs.revoke(session, service=service, signoff_id=signoff_id, reason=reason, actor=local_actor())
    emit(ctx, row.model_dump())


@signoff_app.command("roles")
def roles(ctx: typer.Context) -> None:
    """Stakeholder roles, the checkpoints each must sign and who may sign for it."""
    with session_scope(ctx) as session:
        rows = signoffs.list_roles(session, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["name", "required_for", "people", "description"])
