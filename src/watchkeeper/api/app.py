"""The FastAPI application: the API under /api/v1, the web UI, static assets, system routes."""

from __future__ import annotations

import json

from fastapi import APIRouter, FastAPI

from watchkeeper import __version__
from watchkeeper import domains
from watchkeeper.api import docs, errors, headers, input_guard, pings, system
from watchkeeper.app import Container

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 5 * 1024 * 1024

def create_app(container: Container, *, with_ui: bool = True) -> FastAPI:
    app = FastAPI(
        title="Watchkeeper",
        version=__version__,
        description="Production readiness gate and operations platform. Authenticate with `Authorization: Bearer <token>`.",
        openapi_url="/openapi.json",
        docs_url=None,  # served offline by api/docs.py
        redoc_url=None,
    )
    app.state.container = container
    app.state.metrics = system.Metrics(container)
    # Innermost first: heartbeat pings are answered before routing, inside the body limit and metrics.
    app.add_middleware(pings.PingFastPath)
    # Reads the body (inside the size limit, so an oversized chunked body is a 413 here too).
    app.add_middleware(input_guard.InputGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(system.MetricsMiddleware, fastapi_app=app)
    app.add_middleware(headers.SecurityHeadersMiddleware)  # outermost: every answer carries them, a 413 too
    api = APIRouter(prefix=API_PREFIX)
    for router in domains.resolved("api"):  # each domain's routers, from its descriptor
        api.include_router(router)
    app.include_router(api)
    app.include_router(system.router)
    docs.mount(app)
    for router in domains.resolved("public_api"):  # credential in the URL (heartbeat pings under /ping/)
        app.include_router(router)
    renderer = None
    if with_ui:
        from watchkeeper.web import app as web

        renderer = web.mount(app)
    errors.install(app, html_renderer=renderer)
    return app


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with the canonical 413, whether the size is
    declared (Content-Length) or discovered while streaming (chunked). Plain ASGI."""

    def __init__(self, app, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = json.dumps(errors.error_body(
            "payload_too_large", f"request body is larger than {self.max_bytes // 1024 // 1024} MiB; send smaller batches"
        )).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
