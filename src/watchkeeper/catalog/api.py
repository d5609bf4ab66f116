from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import (
    DemoteRequest, PersonCreate, PersonRead, PersonUpdate, PromoteRequest, ServiceCreate, ServiceFilter,
    ServiceRead, ServiceUpdate, StageChangeRead, TeamCreate, TeamRead, TeamUpdate,
)

router = APIRouter(tags=["catalog"])


@router.get("/services", response_model=list[ServiceRead], summary="List services")
def list_services(session: SessionDep, actor: CurrentActor, filter: Annotated[ServiceFilter, Depends()]):
    return catalog.list_services(session, actor=actor, filter=filter)


@router.post("/services", response_model=ServiceRead, status_code=status.HTTP_201_CREATED, summary="Create a service")
def create_service(body: ServiceCreate, session: SessionDep, actor: CurrentActor):
    return catalog.create_service(session, data=body, actor=actor)


@router.get("/services/{name}", response_model=ServiceRead, summary="Get a service")
def get_service(name: str, session: SessionDep, actor: CurrentActor):
    return catalog.get_service(session, name=name, actor=actor)


@router.patch("/services/{name}", response_model=ServiceRead, summary="Update a service")
def update_service(name: str, body: ServiceUpdate, session: SessionDep, actor: CurrentActor):
    return catalog.update_service(session, name=name, data=body, actor=actor)


@router.delete("/services/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a service")
def delete_service(name: str, session: SessionDep, actor: CurrentActor):
    catalog.delete_service(session, name=name, actor=actor)


@router.post("/services/{name}/promote", response_model=ServiceRead, summary="Promote one stage up (gated)")
def promote(name: str, body: PromoteRequest, session: SessionDep, actor: CurrentActor):
    return catalog.promote(session, name=name, to=body.to, actor=actor, force=body.force, reason=body.reason)


@router.post("/services/{name}/demote", response_model=ServiceRead, summary="Demote to a lower stage")
def demote(name: str, body: DemoteRequest, session: SessionDep, actor: CurrentActor):
    return catalog.demote(session, name=name, to=body.to, reason=body.reason, actor=actor)


@router.get("/services/{name}/stages", response_model=list[StageChangeRead], summary="Stage history")
def stage_history(name: str, session: SessionDep, actor: CurrentActor):
    return catalog.stage_history(session, name=name, actor=actor)


@router.get("/teams", response_model=list[TeamRead], summary="List teams")
def list_teams(session: SessionDep, actor: CurrentActor):
    return teams.list_teams(session, actor=actor)


@router.post("/teams", response_model=TeamRead, status_code=status.HTTP_201_CREATED, summary="Create a team")
def create_team(body: TeamCreate, session: SessionDep, actor: CurrentActor):
    return teams.create_team(session, data=body, actor=actor)


@router.get("/teams/{name}", response_model=TeamRead, summary="Get a team")
def get_team(name: str, session: SessionDep, actor: CurrentActor):
    return teams.get_team(session, name=name, actor=actor)


@router.patch("/teams/{name}", response_model=TeamRead, summary="Update a team")
def update_team(name: str, body: TeamUpdate, session: SessionDep, actor: CurrentActor):
    return teams.update_team(session, name=name, data=body, actor=actor)


@router.delete("/teams/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a team")
def delete_team(name: str, session: SessionDep, actor: CurrentActor):
    teams.delete_team(session, name=name, actor=actor)


@router.get("/people", response_model=list[PersonRead], summary="List people")
def list_people(session: SessionDep, actor: CurrentActor):
    return teams.list_people(session, actor=actor)


@router.post("/people", response_model=PersonRead, status_code=status.HTTP_201_CREATED, summary="Add a person")
def create_person(body: PersonCreate, session: SessionDep, actor: CurrentActor):
    return teams.create_person(session, data=body, actor=actor)


@router.get("/people/{handle}", response_model=PersonRead, summary="Get a person")
def get_person(handle: str, session: SessionDep, actor: CurrentActor):
    return teams.get_person(session, handle=handle, actor=actor)


@router.patch("/people/{handle}", response_model=PersonRead, summary="Update a person")
def update_person(handle: str, body: PersonUpdate, session: SessionDep, actor: CurrentActor):
    return teams.update_person(session, handle=handle, data=body, actor=actor)


@router.delete("/people/{handle}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a person")
def delete_person(handle: str, session: SessionDep, actor: CurrentActor):
    teams.delete_person(session, handle=handle, actor=actor)
