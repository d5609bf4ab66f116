"""/api/v1/incidents: declare, list, read, lifecycle, roles, notes, status updates, alerts,
merge, timeline and its Markdown export. Thin: the services check `incident.*` and audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import Field

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.incidents import metrics, postmortems, statuspage
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    MAX_MARKDOWN,
    ActionItemCreate,
    ActionItemRead,
    ActionItemUpdate,
    AlertAttach,
    EntryRead,
    IncidentCreate,
    IncidentDetail,
    IncidentFilter,
    IncidentRead,
    IncidentUpdate,
    NoteCreate,
    PostmortemRead,
    PostmortemUpdate,
    RoleAssign,
    StatusChange,
    StatusUpdate,
    Visibility,
)
from watchkeeper.validation import Strict

router = APIRouter(prefix="/incidents", tags=["incidents"])
# The public status page's JSON: no credential; statuspage.py decides what is public.
status_router = APIRouter(prefix="/status", tags=["status page"])


class ResolveRequest(Strict):
    message: str | None = Field(None, max_length=MAX_MARKDOWN)
    visibility: Visibility = Visibility.INTERNAL


class MergeRequest(Strict):
    into: int = Field(ge=1, description="The incident that stays open and takes this one's timeline, alerts and services.")


@router.get("", response_model=list[IncidentRead], summary="Incidents the caller may see (open by default)")
def list_incidents(session: SessionDep, actor: CurrentActor, filter: Annotated[IncidentFilter, Depends()]):
    return incidents.list_incidents(session, filter=filter, actor=actor)


@router.post("", response_model=IncidentRead, status_code=status.HTTP_201_CREATED, summary="Declare an incident")
def declare(body: IncidentCreate, session: SessionDep, actor: CurrentActor):
    return incidents.declare(session, data=body, actor=actor)


class DrillRequest(Strict):
    service: str = Field(min_length=1, max_length=100)
    severity: str = Field("SEV2", pattern=r"^SEV[1-4]$")


@router.post("/drills", response_model=IncidentRead, status_code=status.HTTP_201_CREATED,
             summary="Start a game day: a drill incident that pages like a real one")
def start_drill(body: DrillRequest, session: SessionDep, actor: CurrentActor):
    return incidents.start_drill(session, service=body.service, severity=body.severity, actor=actor)


@router.get("/review", response_model=metrics.WeeklyReview, summary="The weekly incident review (MTTA, MTTR, breaches, postmortems)")
def weekly_review(session: SessionDep, actor: CurrentActor, day: dt.date | None = None,
                  timezone: Annotated[str, Query(max_length=64)] = "UTC"):
    from watchkeeper import clock

    return metrics.weekly_review(session, day=day or clock.utcnow().date(), timezone=timezone, actor=actor)


@router.get("/postmortems", response_model=list[PostmortemRead], summary="Postmortems the caller may see")
def list_postmortems(session: SessionDep, actor: CurrentActor, overdue: bool = False):
    return postmortems.list_postmortems(session, actor=actor, overdue_only=overdue)


@router.patch("/action-items/{item_id}", response_model=ActionItemRead,
              summary="Change an action item (owner, due, tracker URL, the change that fixed it, done/open)")
def update_action_item(item_id: int, body: ActionItemUpdate, session: SessionDep, actor: CurrentActor):
    return postmortems.update_action_item(session, item_id=item_id, data=body, actor=actor)


@router.get("/{incident_id}", response_model=IncidentDetail, summary="One incident with its timeline")
def get_incident(incident_id: int, session: SessionDep, actor: CurrentActor):
    return incidents.get_incident(session, incident_id=incident_id, actor=actor)


@router.patch("/{incident_id}", response_model=IncidentRead, summary="Change title, severity, impact or customer-facing")
def update_incident(incident_id: int, body: IncidentUpdate, session: SessionDep, actor: CurrentActor):
    return incidents.update_incident(session, incident_id=incident_id, data=body, actor=actor)


@router.post("/{incident_id}/status", response_model=IncidentRead, summary="Move along the lifecycle (invalid moves: 409)")
def change_status(incident_id: int, body: StatusChange, session: SessionDep, actor: CurrentActor):
    return incidents.change_status(session, incident_id=incident_id, data=body, actor=actor)


@router.post("/{incident_id}/ack", response_model=IncidentRead, summary="Acknowledge a triggered incident")
def acknowledge(incident_id: int, session: SessionDep, actor: CurrentActor):
    return incidents.acknowledge(session, incident_id=incident_id, actor=actor)


@router.post("/{incident_id}/resolve", response_model=IncidentRead, summary="Resolve the incident")
def resolve(incident_id: int, session: SessionDep, actor: CurrentActor, body: ResolveRequest | None = None):
    body = body or ResolveRequest()
    return incidents.resolve(session, incident_id=incident_id, actor=actor, message=body.message, visibility=body.visibility)


@router.post("/{incident_id}/roles", response_model=IncidentRead, summary="Assign, hand over or clear a role")
def assign_role(incident_id: int, body: RoleAssign, session: SessionDep, actor: CurrentActor):
    return incidents.assign_role(session, incident_id=incident_id, data=body, actor=actor)


@router.post("/{incident_id}/notes", response_model=EntryRead, status_code=status.HTTP_201_CREATED,
             summary="Add an internal Markdown note to the timeline")
def add_note(incident_id: int, body: NoteCreate, session: SessionDep, actor: CurrentActor):
    return incidents.add_note(session, incident_id=incident_id, data=body, actor=actor)


@router.post("/{incident_id}/updates", response_model=EntryRead, status_code=status.HTTP_201_CREATED,
             summary="Post a status update (public ones appear on /status)")
def post_update(incident_id: int, body: StatusUpdate, session: SessionDep, actor: CurrentActor):
    return incidents.post_update(session, incident_id=incident_id, data=body, actor=actor)


@router.post("/{incident_id}/alerts", response_model=IncidentRead, summary="Attach an alert by fingerprint")
def attach_alert(incident_id: int, body: AlertAttach, session: SessionDep, actor: CurrentActor):
    return incidents.attach_alert(session, incident_id=incident_id, fingerprint=body.fingerprint, actor=actor)


@router.post("/{incident_id}/merge", response_model=IncidentRead, summary="Merge this incident into another")
def merge(incident_id: int, body: MergeRequest, session: SessionDep, actor: CurrentActor):
    return incidents.merge(session, incident_id=incident_id, into_id=body.into, actor=actor)


@router.post("/{incident_id}/page", response_model=IncidentRead, summary="Page the affected services' on-call again")
def page_again(incident_id: int, session: SessionDep, actor: CurrentActor):
    return incidents.page_again(session, incident_id=incident_id, actor=actor)


@router.post("/{incident_id}/postmortem", response_model=PostmortemRead, status_code=status.HTTP_201_CREATED,
             summary="Start the postmortem from the blameless template")
def start_postmortem(incident_id: int, session: SessionDep, actor: CurrentActor):
    return postmortems.start_postmortem(session, incident_id=incident_id, actor=actor)


@router.get("/{incident_id}/postmortem", response_model=PostmortemRead, summary="The postmortem with its timeline and action items")
def get_postmortem(incident_id: int, session: SessionDep, actor: CurrentActor):
    return postmortems.get_postmortem(session, incident_id=incident_id, actor=actor)


@router.patch("/{incident_id}/postmortem", response_model=PostmortemRead, summary="Edit the postmortem's sections (Markdown)")
def update_postmortem(incident_id: int, body: PostmortemUpdate, session: SessionDep, actor: CurrentActor):
    return postmortems.update_postmortem(session, incident_id=incident_id, data=body, actor=actor)


@router.post("/{incident_id}/postmortem/publish", response_model=PostmortemRead, summary="Publish the postmortem")
def publish_postmortem(incident_id: int, session: SessionDep, actor: CurrentActor):
    return postmortems.publish_postmortem(session, incident_id=incident_id, actor=actor)


@router.post("/{incident_id}/action-items", response_model=ActionItemRead, status_code=status.HTTP_201_CREATED,
             summary="Add an action item to the postmortem")
def add_action_item(incident_id: int, body: ActionItemCreate, session: SessionDep, actor: CurrentActor):
    return postmortems.add_action_item(session, incident_id=incident_id, data=body, actor=actor)


@router.get("/{incident_id}/timeline", response_model=list[EntryRead], summary="The timeline, oldest first")
def timeline(incident_id: int, session: SessionDep, actor: CurrentActor):
    return incidents.get_timeline(session, incident_id=incident_id, actor=actor)


@router.get("/{incident_id}/export.md", response_class=PlainTextResponse, summary="The incident and timeline as Markdown")
def export_markdown(incident_id: int, session: SessionDep, actor: CurrentActor):
    return PlainTextResponse(incidents.export_markdown(session, incident_id=incident_id, actor=actor),
                             media_type="text/markdown; charset=utf-8")


@status_router.get("", response_model=statuspage.PublicStatus, summary="The public status page as JSON (no login)")
def public_status(session: SessionDep):
    return statuspage.public_status(session)
