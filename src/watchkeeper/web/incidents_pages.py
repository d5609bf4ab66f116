"""Incident pages: the list (with the declare form), the incident page (facts, roles, alerts,
timeline, the status-update composer with its public/internal switch), and the public status
page at /status (no login, no JavaScript) with its Atom feed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from watchkeeper import durations
from watchkeeper.api.deps import SessionDep
from watchkeeper.auth.service import Actor
from watchkeeper.incidents import metrics, postmortems, statuspage
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.markdown import render as markdown
from watchkeeper.incidents.schemas import (
    ActionItemCreate,
    ActionItemUpdate,
    IncidentCreate,
    IncidentFilter,
    NoteCreate,
    PostmortemUpdate,
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


def _no_draft() -> None:
    return None


# What a refused or previewed form had typed: passed only by the handler that shows the page
# again (never read from the request), like render.FormError.
Draft = Annotated[dict | None, Depends(_no_draft)]
templates.env.filters.setdefault("markdown", markdown)
templates.env.filters.setdefault("seconds", lambda v: durations.format(dt.timedelta(seconds=round(v))) if v is not None else "—")


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: SessionDep, actor: PageActor, status: str = "open", service: str | None = None,
                   error: FormError = None, form: Draft = None):
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


# ---------------------------------------------------------------- postmortems and the weekly review

PM_FIELDS = (("summary", "Summary"), ("impact", "Impact"), ("root_cause", "Root cause"),
             ("contributing_factors", "Contributing factors"), ("went_well", "What went well"))


@router.get("/incidents/{incident_id:int}/postmortem", response_class=HTMLResponse)
def postmortem_page(request: Request, incident_id: int, session: SessionDep, actor: PageActor, error: FormError = None,
                    draft: Draft = None):
    from watchkeeper.errors import NotFound

    inc = incidents.get_incident(session, incident_id=incident_id, actor=actor)
    try:
        pm = postmortems.get_postmortem(session, incident_id=incident_id, actor=actor)
    except NotFound:
        pm = None
    return render(request, "incidents/postmortem.html", inc=inc, pm=pm, error=error, fields=PM_FIELDS, draft=draft)


def _pm_act(request: Request, session, actor: Actor, incident_id: int, fn):
    return submit(session, fn, done=f"/incidents/{incident_id}/postmortem",
                  refused=lambda error: postmortem_page(request, incident_id, session, actor, error=error))


@router.post("/incidents/{incident_id:int}/postmortem/start", response_class=HTMLResponse)
def start_postmortem(request: Request, incident_id: int, session: SessionDep, actor: FormActor):
    return _pm_act(request, session, actor, incident_id,
                   lambda: postmortems.start_postmortem(session, incident_id=incident_id, actor=actor))


@router.post("/incidents/{incident_id:int}/postmortem", response_class=HTMLResponse)
def save_postmortem(request: Request, incident_id: int, session: SessionDep, actor: FormActor,
                    summary: Annotated[str, Form()] = "", impact: Annotated[str, Form()] = "", root_cause: Annotated[str, Form()] = "",
                    contributing_factors: Annotated[str, Form()] = "", went_well: Annotated[str, Form()] = "",
                    action: Annotated[str, Form()] = "save"):
    draft = {"summary": summary, "impact": impact, "root_cause": root_cause, "contributing_factors": contributing_factors,
             "went_well": went_well}
    if action == "preview":  # render what was typed, save nothing (no JavaScript needed)
        return postmortem_page(request, incident_id, session, actor, draft=draft)

    def act():
        postmortems.update_postmortem(session, incident_id=incident_id, data=PostmortemUpdate(**draft), actor=actor)
        if action == "publish":
            postmortems.publish_postmortem(session, incident_id=incident_id, actor=actor)

    return submit(session, act, done=f"/incidents/{incident_id}/postmortem",
                  refused=lambda error: postmortem_page(request, incident_id, session, actor, error=error, draft=draft))


@router.post("/incidents/{incident_id:int}/action-items", response_class=HTMLResponse)
def add_action_item(request: Request, incident_id: int, session: SessionDep, actor: FormActor, title: Annotated[str, Form()] = "",
                    owner: Annotated[str, Form()] = "", tracker_url: Annotated[str, Form()] = ""):
    return _pm_act(request, session, actor, incident_id, lambda: postmortems.add_action_item(
        session, incident_id=incident_id, data=ActionItemCreate(title=title.strip(), owner=owner.strip() or None,
                                                                tracker_url=tracker_url.strip() or None), actor=actor))


@router.post("/incidents/{incident_id:int}/action-items/{item_id:int}", response_class=HTMLResponse)
def update_action_item(request: Request, incident_id: int, item_id: int, session: SessionDep, actor: FormActor,
                       status: Annotated[str, Form()] = "done", change_ref: Annotated[str, Form()] = ""):
    return _pm_act(request, session, actor, incident_id, lambda: postmortems.update_action_item(
        session, item_id=item_id, data=ActionItemUpdate(status=status, change_ref=change_ref.strip() or None), actor=actor))


@router.get("/incidents/review", response_class=HTMLResponse)
def review_page(request: Request, session: SessionDep, actor: PageActor, day: str = "", timezone: str = "UTC"):
    from watchkeeper import clock
    from watchkeeper.errors import InvalidInput

    try:
        when = dt.date.fromisoformat(day) if day else clock.utcnow().date()
    except ValueError:
        raise InvalidInput(f"day: {day[:20]!r} is not a date like 2026-03-02", field="day") from None
    review = metrics.weekly_review(session, day=when, timezone=timezone[:64] or "UTC", actor=actor)
    return render(request, "incidents/review.html", r=review, day=when, timezone=timezone,
                  prev=when - dt.timedelta(days=7), next=when + dt.timedelta(days=7), markdown_text=metrics.review_markdown(review))


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
