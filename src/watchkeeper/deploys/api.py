"""/api/v1/deploys: records, the gate, overrides, freezes, policies, rollouts, rollbacks and drills (thin: parse, call the service)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query, Request, Response, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.deploys import calendar, freezes, gate, rollout
from watchkeeper.deploys import releasenotes as notes
from watchkeeper.deploys import rollback as rollbacks
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.calendar import CalendarRead, PlannedDeploy
from watchkeeper.deploys.schemas import (
    AbortRequest,
    DeployFinish,
    DeployRead,
    DeployStart,
    DrillRequest,
    FreezeCreate,
    FreezeRead,
    GateRequest,
    GateResult,
    OverrideCreate,
    OverrideRead,
    PolicyRead,
    RollbackRead,
    RollbackRequest,
    ServiceDeployConfig,
    StepRead,
)
from watchkeeper.errors import InvalidInput

router = APIRouter(tags=["deploys"])

Name = Query(None, max_length=100)


@router.get("/deploys", response_model=list[DeployRead], summary="Deploys the caller may read, newest first")
def list_deploys(session: SessionDep, actor: CurrentActor, service: str | None = Name,
                 environment: str | None = Query(None, max_length=64),
                 status: Literal["planned", "in_progress", "succeeded", "failed", "rolled_back", "aborted"] | None = None,
                 limit: int = Query(100, ge=1, le=1000)):
    return deploys.list_deploys(session, actor=actor, service=service, environment=environment, status=status, limit=limit)


@router.post("/deploys", response_model=DeployRead, status_code=status.HTTP_201_CREATED,
             summary="Record a deploy starting (from CI): version, commit, artifact, test evidence, rollback target")
def start_deploy(body: DeployStart, session: SessionDep, actor: CurrentActor):
    return deploys.start_deploy(session, data=body, actor=actor)


@router.post("/deploys/check", response_model=GateResult,
             summary="The deploy gate: allowed, or refused with one reason per rule (exit_code as the CLI's)")
def check(body: GateRequest, session: SessionDep, actor: CurrentActor):
    return gate.check(session, data=body, actor=actor)


@router.get("/deploys/overrides", response_model=list[OverrideRead], summary="Gate overrides the caller may read")
def list_overrides(session: SessionDep, actor: CurrentActor, service: str | None = Name):
    return gate.list_overrides(session, actor=actor, service=service)


@router.post("/deploys/overrides", response_model=OverrideRead, status_code=status.HTTP_201_CREATED,
             summary="Ask to deploy past the gate (a reason; PROD needs a second person's approval)")
def request_override(body: OverrideCreate, session: SessionDep, actor: CurrentActor):
    return gate.request_override(session, data=body, actor=actor)


@router.post("/deploys/overrides/{gate_override_id}/approve", response_model=OverrideRead,
             summary="Approve a PROD override (not by its requester)")
def approve_override(gate_override_id: int, session: SessionDep, actor: CurrentActor):
    return gate.approve_override(session, override_id=gate_override_id, actor=actor)


@router.get("/deploys/freezes", response_model=list[FreezeRead], summary="Change freezes and change windows the caller may see")
def list_freezes(session: SessionDep, actor: CurrentActor, service: str | None = Name,
                 kind: Literal["freeze", "window"] | None = None):
    return freezes.list_freezes(session, actor=actor, service=service, kind=kind)


@router.post("/deploys/freezes", response_model=FreezeRead, status_code=status.HTTP_201_CREATED,
             summary="Declare a change freeze or change window (service, team or global; one-off or cron)")
def create_freeze(body: FreezeCreate, session: SessionDep, actor: CurrentActor):
    return freezes.create_freeze(session, data=body, actor=actor)


@router.put("/deploys/freezes/{name}", response_model=FreezeRead, summary="Replace a freeze or change window")
def update_freeze(name: str, body: FreezeCreate, session: SessionDep, actor: CurrentActor):
    if body.name != name:
        raise InvalidInput(f"the body names '{body.name}' but the URL names '{name[:100]}'; a freeze cannot be renamed", field="name")
    return freezes.update_freeze(session, data=body, actor=actor)


@router.delete("/deploys/freezes/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a freeze or change window")
def delete_freeze(name: str, session: SessionDep, actor: CurrentActor):
    freezes.delete_freeze(session, name=name, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deploys/policies", response_model=list[PolicyRead], summary="Deploy policies (hooks, health, budget, rollout plan)")
def list_policies(session: SessionDep, actor: CurrentActor):
    return freezes.list_policies(session, actor=actor)


@router.get("/deploys/policies/{service}", response_model=PolicyRead, summary="One service's deploy policy")
def get_policy(service: str, session: SessionDep, actor: CurrentActor):
    return freezes.get_policy(session, service=service, actor=actor)


@router.put("/deploys/policies/{service}", response_model=PolicyRead, summary="Create or replace a service's deploy policy")
def set_policy(service: str, body: ServiceDeployConfig, session: SessionDep, actor: CurrentActor):
    if body.service != service:
        raise InvalidInput(f"the body names '{body.service}' but the URL names '{service[:100]}'", field="service")
    return freezes.set_policy(session, data=body, actor=actor)


@router.delete("/deploys/policies/{service}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a service's deploy policy")
def delete_policy(service: str, session: SessionDep, actor: CurrentActor):
    freezes.delete_policy(session, service=service, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------- rollouts, rollbacks, drills


@router.post("/deploys/rollouts", response_model=DeployRead, status_code=status.HTTP_201_CREATED,
             summary="Record a deploy and start its gradual rollout by the service's plan (run by the worker)")
def start_rollout(body: DeployStart, session: SessionDep, actor: CurrentActor):
    return rollout.start_rollout(session, data=body, actor=actor)


@router.get("/deploys/{deploy_id}/steps", response_model=list[StepRead], summary="A rollout's steps with their analysis")
def rollout_steps(deploy_id: int, session: SessionDep, actor: CurrentActor):
    return rollout.steps(session, deploy_id=deploy_id, actor=actor)


@router.post("/deploys/{deploy_id}/approve-step", response_model=DeployRead, summary="Let a rollout waiting for approval go on")
def approve_step(deploy_id: int, session: SessionDep, actor: CurrentActor):
    return rollout.approve_step(session, deploy_id=deploy_id, actor=actor)


@router.post("/deploys/{deploy_id}/abort", response_model=DeployRead, summary="Stop a rollout and roll it back")
def abort_rollout(deploy_id: int, body: AbortRequest, session: SessionDep, actor: CurrentActor):
    return rollout.abort_rollout(session, deploy_id=deploy_id, reason=body.reason, actor=actor)


@router.get("/deploys/rollbacks", response_model=list[RollbackRead], summary="Rollbacks and drills, newest first")
def list_rollbacks(session: SessionDep, actor: CurrentActor, service: str | None = Name, limit: int = Query(50, ge=1, le=1000)):
    return rollbacks.list_rollbacks(session, actor=actor, service=service, limit=limit)


@router.post("/deploys/rollbacks", response_model=RollbackRead, status_code=status.HTTP_202_ACCEPTED,
             summary="Queue a rollback of a service to its rollback target, timed to healthy (run by the worker)")
def request_rollback(body: RollbackRequest, session: SessionDep, actor: CurrentActor):
    return rollbacks.request_rollback(session, service=body.service, environment=body.environment, to_version=body.to_version,
                                      actor=actor)


@router.post("/deploys/drills", response_model=RollbackRead, status_code=status.HTTP_202_ACCEPTED,
             summary="Queue a rollback drill: back to the previous version and forward again, each leg timed")
def request_drill(body: DrillRequest, session: SessionDep, actor: CurrentActor):
    return rollbacks.request_drill(session, service=body.service, environment=body.environment, actor=actor)


@router.get("/deploys/rollbacks/{rollback_id}", response_model=RollbackRead, summary="One rollback or drill with its timed legs")
def get_rollback(rollback_id: int, session: SessionDep, actor: CurrentActor):
    return rollbacks.get_rollback(session, rollback_id=rollback_id, actor=actor)


# ---------------------------------------------------------------------------- the change calendar


@router.post("/deploys/planned", response_model=DeployRead, status_code=status.HTTP_201_CREATED,
             summary="Put a planned deploy on the change calendar (conflicts with freezes are flagged)")
def plan_deploy(body: PlannedDeploy, session: SessionDep, actor: CurrentActor):
    return calendar.plan_deploy(session, data=body, actor=actor)


@router.get("/deploys/calendar", response_model=CalendarRead,
            summary="The change calendar: deploys, freezes, windows, maintenance, hand-offs, drills, with conflicts")
def change_calendar(session: SessionDep, actor: CurrentActor, start: dt.datetime | None = None, end: dt.datetime | None = None,
                    service: str | None = Name):
    return calendar.change_calendar(session, actor=actor, start=start, end=end, service=service)


@router.get("/deploys/calendar.ics", response_class=Response, summary="The change calendar as an iCalendar feed (RFC 5545)",
            responses={200: {"content": {"text/calendar": {}}}})
def change_calendar_ics(request: Request, session: SessionDep, actor: CurrentActor, start: dt.datetime | None = None,
                        end: dt.datetime | None = None, service: str | None = Name):
    cal = calendar.change_calendar(session, actor=actor, start=start, end=end, service=service)
    return Response(calendar.ical(cal, base_url=str(request.base_url)), media_type="text/calendar; charset=utf-8")


@router.get("/deploys/release-notes", response_class=Response, responses={200: {"content": {"text/markdown": {}}}},
            summary="Markdown release notes from the git history between two deployed versions (the policy's repository)")
def release_notes(session: SessionDep, actor: CurrentActor, service: str = Query(max_length=100),
                  from_version: str = Query(alias="from", max_length=200), to_version: str = Query(alias="to", max_length=200)):
    text = notes.release_notes(session, service=service, from_version=from_version, to_version=to_version, actor=actor)
    return Response(text, media_type="text/markdown; charset=utf-8")


@router.get("/deploys/{deploy_id}", response_model=DeployRead, summary="One deploy")
def get_deploy(deploy_id: int, session: SessionDep, actor: CurrentActor):
    return deploys.get_deploy(session, deploy_id=deploy_id, actor=actor)


@router.post("/deploys/{deploy_id}/finish", response_model=DeployRead, summary="Record a deploy's outcome")
def finish_deploy(deploy_id: int, body: DeployFinish, session: SessionDep, actor: CurrentActor):
    return deploys.finish_deploy(session, deploy_id=deploy_id, data=body, actor=actor)
