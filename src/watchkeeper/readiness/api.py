from __future__ import annotations

from fastapi import APIRouter, Body, Query, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.catalog.stages import Stage
from watchkeeper.readiness import continuous, evaluation, policies, waivers
from watchkeeper.readiness.schemas import (
    AttestationCreate, AttestationRead, HistoryEntry, PolicyRead, ReadinessReport, RefreshSummary, Revoke, Scorecard,
    WaiverCreate, WaiverRead,
)

router = APIRouter(tags=["readiness"])


@router.get("/services/{name}/readiness", response_model=ReadinessReport,
            summary="Evaluate a service's readiness checklist now (default: its current stage)")
def get_readiness(name: str, session: SessionDep, actor: CurrentActor, stage: Stage | None = None):
    return evaluation.get_report(session, service=name, stage=stage, actor=actor)


@router.get("/services/{name}/readiness/history", response_model=list[HistoryEntry],
            summary="Recorded changes of a service's readiness items, newest first")
def get_history(name: str, session: SessionDep, actor: CurrentActor, check: str | None = None,
                limit: int = Query(200, ge=1, le=2000)):
    return continuous.history(session, service=name, check=check, limit=limit, actor=actor)


@router.get("/services/{name}/waivers", response_model=list[WaiverRead], summary="Waivers of a service")
def list_waivers(name: str, session: SessionDep, actor: CurrentActor, active: bool = False):
    return waivers.list_waivers(session, service=name, active_only=active, actor=actor)


@router.post("/services/{name}/waivers", response_model=WaiverRead, status_code=status.HTTP_201_CREATED,
             summary="Waive a readiness item until a date")
def grant_waiver(name: str, body: WaiverCreate, session: SessionDep, actor: CurrentActor):
    return waivers.grant_waiver(session, service=name, data=body, actor=actor)


@router.post("/services/{name}/waivers/{waiver_id}/revoke", response_model=WaiverRead, summary="End a waiver now")
def revoke_waiver(name: str, waiver_id: int, body: Revoke, session: SessionDep, actor: CurrentActor):
    return waivers.revoke_waiver(session, service=name, waiver_id=waiver_id, reason=body.reason, actor=actor)


@router.get("/services/{name}/attestations", response_model=list[AttestationRead], summary="Attestations of a service")
def list_attestations(name: str, session: SessionDep, actor: CurrentActor, active: bool = False):
    return waivers.list_attestations(session, service=name, active_only=active, actor=actor)


@router.post("/services/{name}/attestations", response_model=AttestationRead, status_code=status.HTTP_201_CREATED,
             summary="Attest an item Watchkeeper cannot measure")
def attest(name: str, body: AttestationCreate, session: SessionDep, actor: CurrentActor):
    return waivers.attest(session, service=name, data=body, actor=actor)


@router.post("/services/{name}/attestations/{attestation_id}/revoke", response_model=AttestationRead,
             summary="Withdraw an attestation")
def revoke_attestation(name: str, attestation_id: int, body: Revoke, session: SessionDep, actor: CurrentActor):
    return waivers.revoke_attestation(session, service=name, attestation_id=attestation_id, reason=body.reason, actor=actor)


@router.get("/readiness/scorecard", response_model=Scorecard, summary="Services × readiness items of one stage")
def get_scorecard(session: SessionDep, actor: CurrentActor, stage: Stage = Stage.PROD, team: str | None = None):
    return evaluation.scorecard(session, stage=stage, team=team, actor=actor)


@router.get("/readiness/policies/{stage}", response_model=PolicyRead,
            summary="The checklist a stage asks of a service of a tier, after config tuning")
def get_policy(stage: Stage, session: SessionDep, actor: CurrentActor, tier: int = Query(3, ge=1, le=3)):
    return policies.policy(session, stage=stage, actor=actor, tier=tier)


@router.post("/readiness/refresh", response_model=RefreshSummary,
             summary="Re-evaluate services now and record changes (the worker does this every 5 minutes)")
def refresh(session: SessionDep, actor: CurrentActor,
            services: list[str] | None = Body(None, embed=True, description="Service names; default: all.")):
    return continuous.refresh(session, actor=actor, services=services)
