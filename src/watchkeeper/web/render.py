"""Template environment and the web's auth dependencies (session cookie + CSRF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates

from watchkeeper import __version__, durations
from watchkeeper.api.deps import SessionDep, resolve_actor
from watchkeeper.auth import service as auth
from watchkeeper.auth.service import Actor

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["version"] = __version__
templates.env.filters["ago"] = lambda value: _ago(value)
templates.env.filters["duration"] = lambda value: durations.format(value) if value is not None else "—"


def _ago(value) -> str:
    if value is None:
        return "never"
    from watchkeeper import clock

    seconds = int((clock.utcnow() - value).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def page_actor(request: Request, session: SessionDep) -> Actor:
    """The logged-in user of a page; unauthenticated requests are redirected to /login."""
    actor, web = resolve_actor(request, session, source="ui")
    request.state.actor = actor
    request.state.csrf = web.csrf_token if web else ""
    request.state.web_session = web
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def form_actor(request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = "") -> Actor:
    """A logged-in user submitting a form: the form must carry the session's CSRF token."""
    actor = page_actor(request, session)
    web = request.state.web_session
    if web is not None:
        auth.check_csrf(web, csrf_token)
    return actor


FormActor = Annotated[Actor, Depends(form_actor)]


def render(request: Request, template: str, status_code: int = 200, **context):
    context.setdefault("actor", getattr(request.state, "actor", None))
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    return templates.TemplateResponse(request, template, context, status_code=status_code)
