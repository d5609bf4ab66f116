"""Shared FastAPI dependencies: the request's session and the acting user."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.orm import Session

from watchkeeper.auth import service as auth
from watchkeeper.auth.models import WebSession
from watchkeeper.auth.service import Actor
from watchkeeper.db.engine import transaction
from watchkeeper.errors import PermissionDenied, Unauthenticated

SESSION_COOKIE = "wk_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_session(request: Request) -> Iterator[Session]:
    """One session per request. Commits when the handler returns, before the response is sent;
    a failed commit becomes an error response. Rolls back on any error."""
    with transaction(request.app.state.container.session_factory) as session:
        yield session


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


# What a user who still holds a one-time password may call: who am I, and change it.
PASSWORD_CHANGE_PATHS = {"/api/v1/me", "/api/v1/me/password", "/account/password", "/logout"}


# Declared for the OpenAPI document only (`securitySchemes`, and `security` on every route that
# needs a caller); resolve_actor reads the header and the cookie itself.
BEARER_SCHEME = HTTPBearer(auto_error=False, scheme_name="bearer", description=(
    "An API token (`watchkeeper token create`, or POST /api/v1/tokens); its scopes narrow its owner's roles."))
SESSION_SCHEME = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session", description=(
    "The web UI's session cookie; writes with it also need the X-CSRF-Token header."))
_Bearer = Annotated[object, Security(BEARER_SCHEME)]
_Cookie = Annotated[object, Security(SESSION_SCHEME)]


def inline_defs(schema: dict) -> dict:
    """A pydantic JSON schema with its `$defs` inlined, for a schema written into the OpenAPI
    document by hand (`openapi_extra`): a `#/$defs/...` reference there points nowhere."""
    schema = dict(schema)
    defs = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(dict(defs[ref[len("#/$defs/"):]]))
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


def raw_body_openapi(schema: dict) -> dict:
    """`openapi_extra` for a route that reads its JSON body itself (the ingest hot paths): the
    body's schema (`$defs` inlined, so the document needs no extra components) and the bearer
    requirement that `hot_path_actor` enforces."""
    return {"security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": inline_defs(schema)}}}}


def current_actor(request: Request, session: SessionDep, _bearer: _Bearer = None, _cookie: _Cookie = None) -> Actor:
    actor, web = resolve_actor(request, session, source="api")
    if request.url.path not in PASSWORD_CHANGE_PATHS:
        auth.require_password_changed(actor)
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


# Hot paths (alert ingest) trust a bearer token that authenticated for a few seconds without
# another database lookup. A revoked or expired token stops working within TOKEN_TTL.
TOKEN_TTL = 5.0
TOKEN_CACHE_SIZE = 10_000


def _token_cache(request: Request) -> dict[str, tuple[Actor, float]]:
    """The app's cache: SHA-256 of the Authorization header → (actor, trusted until)."""
    cache = getattr(request.app.state, "token_cache", None)
    if cache is None:
        cache = request.app.state.token_cache = {}
    return cache


def _cache_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return hashlib.sha256(header.encode()).hexdigest() if header.lower().startswith("bearer ") else None


def _authenticate(request: Request) -> Actor:
    # A short session of its own: no connection is held while the body is read and parsed.
    with transaction(request.app.state.container.session_factory) as session:
        return current_actor(request, session)


async def hot_path_actor(request: Request, _bearer: _Bearer = None, _cookie: _Cookie = None) -> Actor:
    """The caller of a hot route, authenticated as `current_actor` does, but a bearer token
    seen within TOKEN_TTL is trusted without a database lookup (and without a thread hop)."""
    cache, key = _token_cache(request), _cache_key(request)
    hit = cache.get(key) if key is not None else None
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    actor = await run_in_threadpool(_authenticate, request)
    if key is not None:
        if len(cache) > TOKEN_CACHE_SIZE:
            cache.clear()
        cache[key] = (actor, time.monotonic() + TOKEN_TTL)
    return actor
