"""Mounts the web UI on the FastAPI app: static assets, templates, page routers, login."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from watchkeeper import domains
from watchkeeper.web import overview_pages
from watchkeeper.web.render import templates

STATIC = Path(__file__).parent / "static"

def mount(app: FastAPI):
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    templates.env.globals["nav_links"] = domains.nav()  # each domain's entries, from its descriptor
    app.include_router(overview_pages.router)  # the overview: every domain's panels (Domain.panels)
    for router in domains.resolved("pages"):  # each domain's pages, from its descriptor
        app.include_router(router)
    return render_error


def render_error(request: Request, status: int, code: str, message: str):
    if code == "auth.password_change_required":
        return RedirectResponse("/account/password", status_code=303)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "code": code, "message": message, "actor": getattr(request.state, "actor", None)},
        status_code=status,
    )
