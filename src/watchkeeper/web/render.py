"""Template environment and the web's auth dependencies (session cookie + CSRF)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from watchkeeper import __version__, durations
from watchkeeper.api.deps import PASSWORD_CHANGE_PATHS, SessionDep, resolve_actor
from watchkeeper.auth import service as auth
from watchkeeper.auth.service import Actor
from watchkeeper.errors import WatchkeeperError
from watchkeeper.validation import dotted, first_problem, safe_href

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["version"] = __version__
templates.env.filters["ago"] = lambda value: _ago(value)
# Every user-supplied URL in an href goes through this filter: only http(s) and relative URLs
# become links, so even a value stored before input was validated never runs script.
templates.env.filters["safe_href"] = safe_href
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
    if request.url.path not in PASSWORD_CHANGE_PATHS:
        auth.require_password_changed(actor)  # the error page sends them to /account/password
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


def _no_form_error() -> None:
    return None


# A page's one-line form error is never read from the request: only the handler that refused a
# form passes it (calling the page function directly), so `?error=...` cannot put an attacker's
# words on a trusted page.
FormError = Annotated[str | None, Depends(_no_form_error)]


def form_error(exc: Exception) -> str:
    """The one line a form shows for a refused submission: a domain error's message, or the
    first field a pydantic model refused (`field: what is wrong`)."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and not hasattr(exc, "message"):
        problem = first_problem(errors())
        return problem.line(dotted(problem.loc), count_more=False)
    return getattr(exc, "message", str(exc))


def submit(session, action: Callable[[], object], *, done: str, refused: Callable[[str], Response]) -> Response:
    """Run a form's action. Done: redirect to `done` (303, so reloading does not repeat it).
    Refused (a domain error or a bad value): roll back and answer `refused(one-line reason)`,
    the page again with the reason beside the form."""
    try:
        action()
    except (WatchkeeperError, ValueError) as exc:
        session.rollback()
        return refused(form_error(exc))
    return RedirectResponse(done, status_code=303)


def render(request: Request, template: str, status_code: int = 200, **context):
    context.setdefault("actor", getattr(request.state, "actor", None))
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    return templates.TemplateResponse(request, template, context, status_code=status_code)
