"""The overview (`/`): what is broken now, from every domain's panels; refreshed in place."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from watchkeeper import clock
from watchkeeper.api.deps import SessionDep
from watchkeeper.web import panels
from watchkeeper.web.render import PageActor, render

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 30


def _context(session, actor) -> dict:
    found = panels.collect("overview", session, actor=actor)
    tone, words = panels.headline(found)
    return {"panels": found, "tone": tone, "words": words, "as_of": clock.utcnow(), "refresh": REFRESH_SECONDS}


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, actor: PageActor):
    return render(request, "overview/overview.html", **_context(session, actor))


@router.get("/overview/panels", response_class=HTMLResponse)
def overview_panels(request: Request, session: SessionDep, actor: PageActor):
    """The panels alone, for the page's periodic htmx refresh."""
    return render(request, "overview/_panels.html", **_context(session, actor))
