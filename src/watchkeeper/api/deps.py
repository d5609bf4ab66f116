"""Shared FastAPI dependencies: the request's session and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from watchkeeper.auth import service as auth
from watchkeeper.auth.models import WebSession
from watchkeeper.auth.service import Actor
from watchkeeper.errors import PermissionDenied, Unauthenticated

SESSION_COOKIE = "wk_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_session(request: Request) -> Iterator[Session]:
    """One session per request. Commits when the handler returns, before the response is sent;
    a failed commit becomes an error response. Rolls back on any error."""
    session = request.app.state.container.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def resolve_actor(request: Request, session: Session, *, source: str) -> tuple[Actor, WebSession | None]:
    """Bearer token first, then the UI session cookie. Raises Unauthenticated."""
    token = _bearer(request)
    if token:
        return auth.authenticate_token(session, raw=token, source=source), None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = auth.resolve_session(session, cookie=cookie)
        if found:
            actor, web = found
            return actor.with_source(source), web
    raise Unauthenticated(
        "authentication required: send `Authorization: Bearer <token>` (create one with `watchkeeper token create`)",
        code="auth.required",
    )


def current_actor(request: Request, session: SessionDep) -> Actor:
    actor, web = resolve_actor(request, session, source="api")
    if web is not None and request.method in UNSAFE:
        # Cookie-authenticated API writes must echo the session's CSRF token.
        try:
            auth.check_csrf(web, request.headers.get(CSRF_HEADER))
        except PermissionDenied:
            raise PermissionDenied(
                "cookie-authenticated API writes need the X-CSRF-Token header; use a bearer token from scripts",
                code="auth.csrf",
            ) from None
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
