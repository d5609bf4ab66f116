"""Mounts the web UI on the FastAPI app: static assets, templates, page routers, login."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from watchkeeper.web import alerting_pages, audit_pages, auth_pages, catalog_pages, system_pages
from watchkeeper.web import monitoring_pages, readiness_pages
from watchkeeper.web.render import templates

STATIC = Path(__file__).parent / "static"

PAGES = [auth_pages.router, catalog_pages.router, audit_pages.router, system_pages.router, alerting_pages.router,
         readiness_pages.router, monitoring_pages.router]


def mount(app: FastAPI):
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in PAGES:
        app.include_router(router)
    return render_error


def render_error(request: Request, status: int, code: str, message: str):
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "code": code, "message": message, "actor": getattr(request.state, "actor", None)},
        status_code=status,
    )
