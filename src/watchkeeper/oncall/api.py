"""/api/v1/oncall: schedules, overrides, who is on call, escalation policies, coverage. Thin:
the services check permissions (oncall.read / oncall.manage / oncall.override) and audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.errors import InvalidInput
from watchkeeper.oncall import coverage as analysis
from watchkeeper.oncall import escalation
from watchkeeper.oncall import policies
from watchkeeper.oncall import service as oncall
from watchkeeper.oncall.schemas import (
    CoverageRead, EscalationRead, OnCallRead, ReassignIn, ResponseRow, OverrideCreate, OverrideRead, PolicyCreate, PolicyRead, ScheduleCreate, ScheduleRead,
    TimelineRead,
)

router = APIRouter(prefix="/oncall", tags=["oncall"])
Name = Annotated[str, Query(max_length=100)]


def _same(path: str, body: str) -> None:
    if path != body:
        raise InvalidInput(f"the body names '{body}' but the path '{path}'; they must match (renaming is delete + create)", field="name")


@router.get("/schedules", response_model=list[ScheduleRead], summary="On-call schedules the caller may read")
def list_schedules(session: SessionDep, actor: CurrentActor, team: Annotated[str | None, Query(max_length=100)] = None):
    return oncall.list_schedules(session, actor=actor, team=team)


@router.post("/schedules", response_model=ScheduleRead, status_code=status.HTTP_201_CREATED, summary="Create a schedule")
def create_schedule(body: ScheduleCreate, session: SessionDep, actor: CurrentActor):
    return oncall.create_schedule(session, data=body, actor=actor)


@router.get("/schedules/{name}", response_model=ScheduleRead, summary="One schedule")
def get_schedule(name: str, session: SessionDep, actor: CurrentActor):
    return oncall.get_schedule(session, name=name, actor=actor)


@router.put("/schedules/{name}", response_model=ScheduleRead, summary="Replace a schedule's layers, zone and team")
def update_schedule(name: str, body: ScheduleCreate, session: SessionDep, actor: CurrentActor):
    _same(name, body.name)
    return oncall.update_schedule(session, data=body, actor=actor)


@router.delete("/schedules/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a schedule and its overrides")
def delete_schedule(name: str, session: SessionDep, actor: CurrentActor) -> None:
    oncall.delete_schedule(session, name=name, actor=actor)


@router.get("/schedules/{name}/timeline", response_model=TimelineRead, summary="The final timeline in [start, end) (≤ 92 days)")
def schedule_timeline(name: str, start: dt.datetime, end: dt.datetime, session: SessionDep, actor: CurrentActor):
    return oncall.schedule_timeline(session, name=name, start=start, end=end, actor=actor)


@router.get("/schedules/{name}/overrides", response_model=list[OverrideRead], summary="Current and future overrides (all with past=true)")
def list_overrides(name: str, session: SessionDep, actor: CurrentActor, past: bool = False):
    return oncall.list_overrides(session, schedule=name, actor=actor, include_past=past)


@router.post("/overrides", response_model=OverrideRead, status_code=status.HTTP_201_CREATED, summary="Someone covers a schedule from–to")
def add_override(body: OverrideCreate, session: SessionDep, actor: CurrentActor):
    return oncall.add_override(session, data=body, actor=actor)


@router.delete("/schedules/{name}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove an override")
def remove_override(name: str, override_id: int, session: SessionDep, actor: CurrentActor) -> None:
    oncall.remove_override(session, schedule=name, override_id=override_id, actor=actor)


@router.get("/who", response_model=list[OnCallRead], summary="Who is on call now (or at `at`)")
def who(session: SessionDep, actor: CurrentActor, at: dt.datetime | None = None, schedule: Name | None = None):
    return oncall.on_call(session, actor=actor, at=at, schedule=schedule)


@router.get("/policies", response_model=list[PolicyRead], summary="Escalation policies the caller may read")
def list_policies(session: SessionDep, actor: CurrentActor):
    return policies.list_policies(session, actor=actor)


@router.post("/policies", response_model=PolicyRead, status_code=status.HTTP_201_CREATED, summary="Create an escalation policy")
def create_policy(body: PolicyCreate, session: SessionDep, actor: CurrentActor):
    return policies.create_policy(session, data=body, actor=actor)


@router.get("/policies/{name}", response_model=PolicyRead, summary="One escalation policy")
def get_policy(name: str, session: SessionDep, actor: CurrentActor):
    return policies.get_policy(session, name=name, actor=actor)


@router.put("/policies/{name}", response_model=PolicyRead, summary="Replace an escalation policy")
def update_policy(name: str, body: PolicyCreate, session: SessionDep, actor: CurrentActor):
    _same(name, body.name)
    return policies.update_policy(session, data=body, actor=actor)


@router.delete("/policies/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an escalation policy")
def delete_policy(name: str, session: SessionDep, actor: CurrentActor) -> None:
    policies.delete_policy(session, name=name, actor=actor)


@router.get("/coverage", response_model=list[CoverageRead], summary="Coverage of every service the caller may read")
def coverage_all(session: SessionDep, actor: CurrentActor, days: int = analysis.DEFAULT_DAYS):
    return analysis.coverage(session, actor=actor, days=days)


@router.get("/coverage/{service}", response_model=CoverageRead, summary="Coverage of one service's support hours")
def coverage_one(service: str, session: SessionDep, actor: CurrentActor, days: int = analysis.DEFAULT_DAYS):
    return analysis.coverage(session, actor=actor, service=service, days=days)[0]


@router.get("/escalations", response_model=list[EscalationRead], summary="Escalations, newest first (status=open: not resolved)")
def list_escalations(session: SessionDep, actor: CurrentActor, status: Annotated[str | None, Query(max_length=20)] = None,
                     service: Name | None = None, limit: Annotated[int, Query(ge=1, le=escalation.MAX_LIST)] = 100):
    return escalation.list_escalations(session, actor=actor, status=status, service=service, limit=limit)


@router.get("/escalations/{escalation_id}", response_model=EscalationRead, summary="One escalation and its history")
def get_escalation(escalation_id: int, session: SessionDep, actor: CurrentActor):
    return escalation.get_escalation(session, escalation_id=escalation_id, actor=actor)


@router.post("/escalations/{escalation_id}/escalate", response_model=EscalationRead,
             summary="Page the next level now instead of at its timeout")
def escalate(escalation_id: int, session: SessionDep, actor: CurrentActor):
    return escalation.escalate(session, escalation_id=escalation_id, actor=actor)


@router.post("/escalations/{escalation_id}/reassign", response_model=EscalationRead,
             summary="Page a person now; the policy carries on if they do not acknowledge")
def reassign(escalation_id: int, body: ReassignIn, session: SessionDep, actor: CurrentActor):
    return escalation.reassign(session, escalation_id=escalation_id, person=body.person, actor=actor)


@router.get("/response", response_model=list[ResponseRow],
            summary="MTTA/MTTR and response-target breaches per service, team or person")
def response_report(session: SessionDep, actor: CurrentActor, by: Annotated[str, Query(max_length=10)] = "service",
                    days: Annotated[int, Query(ge=1, le=escalation.MAX_REPORT_DAYS)] = 30):
    return escalation.response_report(session, actor=actor, by=by, days=days)
