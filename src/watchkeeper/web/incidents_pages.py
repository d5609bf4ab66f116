"""Incident pages: the list (with the declare form), the incident page (facts, roles, alerts,
timeline, the status-update composer with its public/internal switch), and the public status
page at /status (no login, no JavaScript) with its Atom feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from watchkeeper.api.deps import SessionDep
from watchkeeper.auth.service import Actor
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents import statuspage
from watchkeeper.incidents.markdown import render as markdown
from watchkeeper.incidents.schemas import (
    IncidentCreate,
    IncidentFilter,
    NoteCreate,
    RoleAssign,
    Status,
    StatusUpdate,
    Visibility,
)
from watchkeeper.web.render import (
    FormActor,
    FormError,
    PageActor,
    render,
    submit,
    templates,
)

router = APIRouter(include_in_schema=False)
templates.env.filters.setdefault("markdown", markdown)


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: SessionDep, actor: PageActor, status: str = "open", service: str | None = None,
                   error: FormError = None, form: dict | None = None):
    flt = IncidentFilter(status=status if status in ("open", "closed", "all") else "open", service=service or None)
    rows = incidents.list_incidents(session, filter=flt, actor=actor)
    return render(request, "incidents/list.html", incidents=rows, flt=flt, error=error, form=form or {})


@router.post("/incidents", response_class=HTMLResponse)
def declare(request: Request, session: SessionDep, actor: FormActor, title: Annotated[str, Form()] = "",
            services: Annotated[str, Form()] = "", severity: Annotated[str, Form()] = "SEV3",
            impact: Annotated[str, Form()] = "", customer_facing: Annotated[bool, Form()] = False):
    made: list = []

    def act():
        data = IncidentCreate(title=title.strip(), severity=severity, services=[s for s in services.replace(",", " ").split() if s],
                              impact=impact.strip() or None, customer_facing=customer_facing)
        made.append(incidents.declare(session, data=data, actor=actor))

    form = {"title": title, "services": services, "severity": severity, "impact": impact}
    response = submit(session, act, done="/incidents", refused=lambda error: incidents_page(
        request, session, actor, error=error, form=form))
    if made:
        response.headers["location"] = f"/incidents/{made[0].id}"
    return response


@router.get("/incidents/{incident_id:int}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: int, session: SessionDep, actor: PageActor, error: FormError = None):
    inc = incidents.get_incident(session, incident_id=incident_id, actor=actor)
    return render(request, "incidents/incident.html", inc=inc, error=error, statuses=[s for s in inc.allowed_next],
                  roles=["commander", "communications", "scribe"])


def _act(request: Request, session, actor: Actor, incident_id: int, fn):
    return submit(session, fn, done=f"/incidents/{incident_id}",
                  refused=lambda error: incident_page(request, incident_id, session, actor, error=error))


@router.post("/incidents/{incident_id:int}/updates", response_class=HTMLResponse)
def post_update(request: Request, incident_id: int, session: SessionDep, actor: FormActor, message: Annotated[str, Form()] = "",
                visibility: Annotated[str, Form()] = "internal", status: Annotated[str, Form()] = ""):
    def act():
        if not message.strip() and status:  # a bare status change
            from watchkeeper.incidents.schemas import StatusChange

            incidents.change_status(session, incident_id=incident_id, data=StatusChange(status=Status(status)), actor=actor)
            return
        data = StatusUpdate(message=message.strip(), visibility=Visibility(visibility), status=Status(status) if status else None)
        incidents.post_update(session, incident_id=incident_id, data=data, actor=actor)

    return _act(request, session, actor, incident_id, act)


@router.post("/incidents/{incident_id:int}/notes", response_class=HTMLResponse)
def add_note(request: Request, incident_id: int, session: SessionDep, actor: FormActor, text: Annotated[str, Form()] = ""):
    return _act(request, session, actor, incident_id,
                lambda: incidents.add_note(session, incident_id=incident_id, data=NoteCreate(text=text.strip()), actor=actor))


@router.post("/incidents/{incident_id:int}/roles", response_class=HTMLResponse)
def assign_role(request: Request, incident_id: int, session: SessionDep, actor: FormActor, role: Annotated[str, Form()] = "",
                person: Annotated[str, Form()] = ""):
    return _act(request, session, actor, incident_id, lambda: incidents.assign_role(
        session, incident_id=incident_id, data=RoleAssign(role=role, person=person.strip() or None), actor=actor))


@router.post("/incidents/{incident_id:int}/ack", response_class=HTMLResponse)
def acknowledge(request: Request, incident_id: int, session: SessionDep, actor: FormActor):
    return _act(request, session, actor, incident_id, lambda: incidents.acknowledge(session, incident_id=incident_id, actor=actor))


# ---------------------------------------------------------------- the public status page (no login)


def _headers() -> dict[str, str]:
    return {"Cache-Control": "no-cache"}


@router.get("/status", response_class=HTMLResponse)
def status_page(request: Request, session: SessionDep):
    data = statuspage.public_status(session)
    response = templates.TemplateResponse(request, "incidents/status.html", {"s": data, "actor": None})
    response.headers.update(_headers())
    return response


@router.get("/status/feed.atom")
def status_feed(request: Request, session: SessionDep):
    data = statuspage.public_status(session)
    return Response(statuspage.atom(data, str(request.base_url)), media_type="application/atom+xml; charset=utf-8",
                    headers=_headers())
