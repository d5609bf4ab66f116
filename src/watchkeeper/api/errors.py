"""One error shape for every route: {"error": {"code", "message", "field"}}.

The same exceptions render as an HTML page for browsers on UI routes (see web/).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from watchkeeper.errors import RateLimited, WatchkeeperError
from watchkeeper.validation import first_problem

log = logging.getLogger(__name__)


def error_body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def _loc(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "the request is invalid", None
    if errors[0].get("type") == "json_invalid":
        return "the request body is not valid JSON; check quoting and commas", None
    problem = first_problem(errors)
    field = _loc(problem.loc)
    return problem.line(field), field


# Paths whose next segment is a credential: signed ack links and heartbeat ping tokens.
CREDENTIAL_PATHS = ("/ack/", "/ping/")


def loggable_path(request: Request) -> str:
    """The request's path as a log may keep it: the matched route's template (`/ack/{token}`),
    or for an unmatched request the path with everything after a credential prefix cut off.
    Ack links and ping URLs carry their credential in the path; logs are read by more people
    than may ack or ping."""
    template = getattr(request.scope.get("route"), "path", None)
    if template:
        return template
    path = request.url.path
    for prefix in CREDENTIAL_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def install(app: FastAPI, *, html_renderer=None) -> None:
    """Register handlers. `html_renderer(request, status, code, message)` serves UI routes."""

    def wants_html(request: Request) -> bool:
        return html_renderer is not None and not request.url.path.startswith(("/api/", "/ping/")) and request.url.path not in ("/healthz", "/readyz", "/metrics")

    def respond(request: Request, status: int, code: str, message: str, field: str | None = None, headers=None):
        if wants_html(request):
            return html_renderer(request, status, code, message)
        return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)

    @app.exception_handler(WatchkeeperError)
    async def _domain(request: Request, exc: WatchkeeperError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if exc.status_code == 401 and not wants_html(request):
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return respond(request, exc.status_code, exc.code, exc.message, exc.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        message, field = validation_message(exc)
        return respond(request, 422, "invalid_input", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.detail else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}; see /docs for the API"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return respond(request, exc.status_code, code, message, None, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("unhandled error", extra={"path": loggable_path(request)}, exc_info=exc)
        return respond(request, 500, "internal", "an internal error occurred; it was logged — retry, and report it if it persists")
