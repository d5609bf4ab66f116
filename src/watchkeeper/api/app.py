"""The FastAPI application: the API under /api/v1, the web UI, static assets, system routes."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from watchkeeper import __version__
from watchkeeper.api import errors, system
from watchkeeper.app import Container
from watchkeeper.audit import api as audit_api
from watchkeeper.auth import api as auth_api
from watchkeeper.catalog import api as catalog_api
from watchkeeper.worker import api as worker_api

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 5 * 1024 * 1024

ROUTERS: list[APIRouter] = [
    catalog_api.router,
    auth_api.router,
    audit_api.router,
    worker_api.router,
]


def create_app(container: Container, *, with_ui: bool = True) -> FastAPI:
    app = FastAPI(
        title="Watchkeeper",
        version=__version__,
        description="Production readiness gate and operations platform. Authenticate with `Authorization: Bearer <token>`.",
        openapi_url="/openapi.json",
    )
    app.state.container = container
    app.state.metrics = system.Metrics(container)
    app.middleware("http")(system.metrics_middleware)
    app.middleware("http")(_limit_body)
    api = APIRouter(prefix=API_PREFIX)
    for router in ROUTERS:
        api.include_router(router)
    app.include_router(api)
    app.include_router(system.router)
    renderer = None
    if with_ui:
        from watchkeeper.web import app as web

        renderer = web.mount(app)
    errors.install(app, html_renderer=renderer)
    return app


async def _limit_body(request, call_next):
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        from fastapi.responses import JSONResponse

        return JSONResponse(
            errors.error_body("payload_too_large", f"request body is larger than {MAX_BODY_BYTES // 1024 // 1024} MiB; send smaller batches"),
            status_code=413,
        )
    return await call_next(request)
