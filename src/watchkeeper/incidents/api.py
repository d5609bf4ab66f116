"""/api/v1/incidents: declare, list, read, lifecycle, roles, notes, status updates, alerts,
merge, timeline and its Markdown export. Thin: the services check `incident.*` and audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import PlainTextResponse
from pydantic import Field

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.schemas import (
    MAX_MARKDOWN,
    AlertAttach,
    EntryRead,
    IncidentCreate,
    IncidentDetail,
    IncidentFilter,
    IncidentRead,
    IncidentUpdate,
    NoteCreate,
    RoleAssign,
    StatusChange,
    StatusUpdate,
    Visibility,
)
from watchkeeper.validation import Strict

router = APIRouter(prefix="/incidents", tags=["incidents"])


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


@router.get("/{incident_id}/timeline", response_model=list[EntryRead], summary="The timeline, oldest first")
def timeline(incident_id: int, session: SessionDep, actor: CurrentActor):
    return incidents.get_timeline(session, incident_id=incident_id, actor=actor)


@router.get("/{incident_id}/export.md", response_class=PlainTextResponse, summary="The incident and timeline as Markdown")
def export_markdown(incident_id: int, session: SessionDep, actor: CurrentActor):
    return PlainTextResponse(incidents.export_markdown(session, incident_id=incident_id, actor=actor),
                             media_type="text/markdown; charset=utf-8")
