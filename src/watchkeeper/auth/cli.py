"""`watchkeeper user|token` — accounts, roles and API tokens."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from watchkeeper.auth import service as auth
from watchkeeper.auth.schemas import Grant, TokenCreate, UserCreate
from watchkeeper.cli.common import emit, local_actor, session_scope
from watchkeeper.errors import InvalidInput

user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)


def _grants(values: list[str]) -> list[Grant]:
    try:
        return [Grant.parse(v) for v in values]
    except ValueError as exc:
        raise InvalidInput(str(exc), field="role") from None


@user_app.command("create")
def create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Lowercase login name.")],
    email: Annotated[Optional[str], typer.Option(help="Email address.")] = None,
    full_name: Annotated[Optional[str], typer.Option("--name", help="Full name.")] = None,
    role: Annotated[list[str], typer.Option("--role", help="ROLE or ROLE@team:NAME or ROLE@service:NAME; repeatable. Roles: viewer, responder, operator, admin, auditor.")] = [],  # noqa: B006
) -> None:
    """Create a user; a one-time password is generated and printed once."""
    with session_scope(ctx) as session:
        user, password = auth.create_user(
            session, data=UserCreate(username=username, email=email, full_name=full_name, grants=_grants(role)), actor=local_actor()
        )
    emit(ctx, {"username": user.username, "grants": user.grants, "password": password})


@user_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List users with their roles and last login."""
    with session_scope(ctx) as session:
        rows = auth.list_users(session, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["username", "email", "grants", "is_active", "last_login_at"])


@user_app.command("grant")
def grant(ctx: typer.Context, username: str, role: Annotated[str, typer.Argument(help="ROLE or ROLE@team:NAME or ROLE@service:NAME.")]) -> None:
    """Grant a role, globally or scoped to a team or service."""
    with session_scope(ctx) as session:
        user = auth.grant_role(session, username=username, grant=_grants([role])[0], actor=local_actor())
    emit(ctx, {"username": user.username, "grants": user.grants})


@user_app.command("revoke")
def revoke(ctx: typer.Context, username: str, role: Annotated[str, typer.Argument(help="The grant to remove, as shown by `user list`.")]) -> None:
    """Revoke a role."""
    with session_scope(ctx) as session:
        user = auth.revoke_role(session, username=username, grant=_grants([role])[0], actor=local_actor())
    emit(ctx, {"username": user.username, "grants": user.grants})


@user_app.command("deactivate")
def deactivate(ctx: typer.Context, username: str) -> None:
    """Disable a user's logins and tokens (history is kept)."""
    with session_scope(ctx) as session:
        user = auth.deactivate_user(session, username=username, actor=local_actor())
    emit(ctx, {"username": user.username, "is_active": user.is_active})


@user_app.command("set-password")
def set_password(
    ctx: typer.Context,
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters.")],
) -> None:
    """Set a user's password (signs out their sessions)."""
    with session_scope(ctx) as session:
        auth.set_password(session, username=username, password=password, actor=local_actor())
    emit(ctx, {"username": username, "password": "changed"})


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Owner of the token.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. ci-deploys.")],
    scope: Annotated[list[str], typer.Option("--scope", help="read, write, ingest, deploy or a permission pattern like service.*; repeatable.")] = ["read"],  # noqa: B006
    expires_in_days: Annotated[Optional[int], typer.Option("--expires-in-days", help="Days until it expires (default 90; 0 = never).")] = 90,
) -> None:
    """Create an API token. The secret is printed once and stored only as a hash."""
    with session_scope(ctx) as session:
        created = auth.create_token(
            session, username=user,
            data=TokenCreate(name=name, scopes=scope, expires_in_days=expires_in_days or None), actor=local_actor(),
        )
    emit(ctx, created.model_dump(include={"prefix", "name", "scopes", "expires_at", "token"}))


@token_app.command("list")
def token_list(ctx: typer.Context, user: Annotated[Optional[str], typer.Option("--user", help="Only this user's tokens.")] = None) -> None:
    """List tokens (never their secrets)."""
    with session_scope(ctx) as session:
        rows = auth.list_tokens(session, username=user, actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["prefix", "name", "scopes", "expires_at", "last_used_at", "revoked_at"])


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, prefix: Annotated[str, typer.Argument(help="The token's prefix (the part after wk_).")]) -> None:
    """Revoke a token at once."""
    with session_scope(ctx) as session:
        row = auth.revoke_token(session, prefix=prefix, actor=local_actor())
    emit(ctx, {"prefix": row.prefix, "revoked_at": row.revoked_at})
